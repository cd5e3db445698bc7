"""`edgenas extract --data <keyword folder>` hands over firmware that listens to raw audio hop by
hop (#23 item 4): the linked RAM (hop buffer, stream state and front-end buffers included) meets
the budget, the board's outputs at the end of raw test clips streamed back to back equal the host
build, and the report gives accuracy per keyword and the front end's instructions per clip."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data import load_dataset
from tests.data.test_kws_data_option import write_keyword_folder

pytestmark = pytest.mark.board


def test_keyword_extract_deploys_audio_firmware(tmp_path, monkeypatch):
    from edgenas.audio.glue import net_inputs
    from edgenas.deploy import build_host
    from edgenas.deploy.audio_model import HOP_BYTES, audio_ram_extra_bytes

    monkeypatch.setenv("EDGENAS_CACHE_DIR", str(tmp_path / "cache"))
    root = write_keyword_folder(tmp_path / "words", per_split=3)
    monkeypatch.chdir(tmp_path)
    args = ["extract", "--data", str(root), "--target", "cortex-m7", "--ram", "64KB", "--out", "x",
            "--work", "adapt", "--adapt-steps", "8", "--adapt-samples", "12", "--baseline-epochs", "-1",
            "--generations", "2", "--verify-inputs", "2", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = tmp_path / "x"
    report = json.loads((out / "report.json").read_text())
    m, p = report["measured"], report["predicted"]
    assert report["verified_bit_exact"] is True and "raw audio" in report["verification"]["detail"]
    assert m["ram_bytes"] <= 64 * 1024 and m["audio_input_bytes"] == HOP_BYTES
    assert p["sram_bytes"] == p["net_sram_bytes"] + audio_ram_extra_bytes(p["arena_bytes"])
    assert m["ram_bytes"] <= p["sram_bytes"] + 64  # the audio path's RAM was counted, not discovered
    fe = m["frontend"]
    assert len(fe["frontend_counts"]) == len(fe["clips"]) == 2 and 1_000_000 < fe["frontend_median"] < 6_000_000
    assert "all 9 scored test clips" in report["verification"]["detail"]
    assert fe["clip_median"] > fe["frontend_median"] + m["latency_median"]
    assert fe["duty_median"] > fe["frontend_median"] + fe["resize_median"] + m["latency_median"]
    assert f"#define EN_MODEL_INPUT_BYTES {HOP_BYTES}\n" in (out / "audio_src" / "model.h").read_text()
    assert (out / "firmware.elf").read_bytes() == (out / "firmware" / "mps2-an500-audio" / "firmware.elf").read_bytes()

    # Accuracy per keyword, scored on the inputs the firmware computes (the integer resize).
    data = load_dataset(str(root))
    resolution = json.loads((out / "arch.json").read_text())["resolution"]
    predictions = build_host(out / "src").run(net_inputs(data.test.x, resolution)).argmax(1)
    assert np.array_equal(predictions, np.load(out / "int8_test_predictions.npy"))
    per_class = report["accuracy"]["int8_per_class"]
    assert set(per_class) == {"bed", "no", "yes"}
    for c, name in enumerate(data.classes):
        assert per_class[name] == pytest.approx(np.mean(predictions[data.test.y == c] == c))
    text = (out / "report.md").read_text()
    assert "front end (a 40-bin frame per hop" in text and "one second of listening" in text and "| yes |" in text
