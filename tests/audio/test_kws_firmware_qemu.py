"""Firmware that listens to raw audio (#23): int16 samples streamed one hop per call, the C front
end, the integer resize and a compiled int8 net on the emulated Cortex-M7 (QEMU mps2-an500); at
the end of each clip fed back to back, byte for byte equal to the Python front end, the Python
resize and the host build of the same net, and to the firmware's own C built for the host, on real
synthesised test clips. The linked RAM is the net-only firmware's plus what the cost model adds."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from edgenas.audio import HOP_SAMPLES, log_mel_u8
from edgenas.audio.glue import net_inputs

pytestmark = pytest.mark.board

ARCH = "r24|w0.5|k3e3,k3e3|k5e4,k3e3|k7e6,k3e3|k3e3,k5e3"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)")
def test_audio_firmware_on_emulated_m7_equals_host_build(tmp_path, monkeypatch):
    from edgenas.boards import BoardRegistry
    from edgenas.data import load_dataset
    from edgenas.data.kws import KwsRecipe, build_keyword_dataset
    from edgenas.data.kws.features import test_clips
    from edgenas.deploy import build_host
    from edgenas.deploy.audio_model import (LENT_BYTES, audio_ram_extra_bytes, build_audio_host,
                                            run_audio_firmware, run_audio_host)
    from edgenas.deploy.pipeline import compile_model
    from edgenas.space import Arch, get_space
    from edgenas.supernet import OFASupernet, prepare_subnet, save_subnet
    from edgenas.targets.cortex_m import driver
    from edgenas.targets.cortex_m.elf import elf_memory

    monkeypatch.setenv("EDGENAS_CACHE_DIR", str(tmp_path / "cache"))
    recipe = KwsRecipe(keywords=("go", "stop"), unknown_words=("dog",), takes=1, unknown_per_speaker=0,
                       silence_per_speaker=0)
    root = tmp_path / "kws"
    build_keyword_dataset(root, seed=11, recipe=recipe, speakers=("f5", "m3", "croak", "klatt"))
    data = load_dataset(str(root))
    # An untrained subnet (BN recalibrated on these images) is enough: the check is bit-exactness.
    torch.manual_seed(0)
    spec = get_space("mcu-mbv2")
    arch = Arch.parse(ARCH).validate(spec)
    subnet = prepare_subnet(OFASupernet(spec).eval(), arch, data, calib_images=32)
    save_subnet(subnet, tmp_path / "subnet", {"data": str(root)})
    art = tmp_path / "art"
    compile_model(tmp_path / "subnet", art, data=str(root), calib_images=32)

    clips = test_clips(root, range(min(3, len(data.test))))
    features = log_mel_u8(clips.audio)[..., None]
    assert np.array_equal(features, data.test.x[: len(features)])  # the clips the model is scored on
    expected = build_host(art / "src").run(net_inputs(features, arch.resolution)).reshape(len(features), -1)

    board = BoardRegistry(entry_points=False, user_dir=None).get("mps2-an500")
    run = run_audio_firmware(art, board, clips.audio)  # streamed hop by hop, clip after clip
    assert run.outputs.reshape(len(features), -1).tobytes() == expected.tobytes()
    # The same C (wrapper, front end, resize, net) built for this machine agrees, on more clips
    # streamed back to back: the test split twice over and two of noise.
    more = np.concatenate([clips.audio, test_clips(root, range(len(data.test))).audio,
                           np.random.default_rng(0).integers(-32768, 32768, (2, 16_000)).astype(np.int16)])
    host_audio = run_audio_host(build_audio_host(art / "audio_src"), more)
    assert host_audio[: len(features)].tobytes() == expected.tobytes()
    want = build_host(art / "src").run(net_inputs(log_mel_u8(more)[..., None], arch.resolution))
    assert host_audio.tobytes() == want.reshape(len(more), -1).tobytes()
    assert len({row.tobytes() for row in expected}) > 1  # the outputs depend on the audio

    m = run.memory
    # The linked RAM is the net-only firmware's plus what audio_ram_extra_bytes counts, never
    # less and at most one 16-byte alignment more: the harness's one-hop buffer instead of the
    # net's input (now the wrapper's), the stream state and the harness's words for two more
    # profile slots; the per-call buffers borrow the arena (its guards held on every hop).
    net_fw = elf_memory(driver.build(art / "src", board, tmp_path / "net-firmware").elf)
    assert m["audio_input_bytes"] == 2 * HOP_SAMPLES and m["frontend_in_arena"] and m["arena_bytes"] >= LENT_BYTES
    assert m["arena_touched_bytes"] >= LENT_BYTES
    assert 0 <= audio_ram_extra_bytes(m["arena_bytes"]) - (m["ram_bytes"] - net_fw["ram_bytes"]) < 16
    # Measured at commit time: front end about 69k instructions a frame, resize to 24 x 24 about 28k.
    assert run.unit == "instructions"
    assert all(1_000_000 < c < 6_000_000 for c in run.frontend_counts)
    assert all(0 < c < 200_000 for c in run.resize_counts)
    assert all(t >= f + r + n for t, f, r, n in zip(run.total_counts, run.frontend_counts, run.resize_counts,
                                                     run.net_counts))
    assert all(d > f + r + n for d, f, r, n in zip(run.duty_counts, run.frontend_counts, run.resize_counts,
                                                   run.net_counts))
    print(f"EN_KWS frontend={run.frontend_counts} resize={run.resize_counts} net={run.net_counts} "
          f"clip={run.total_counts} duty={run.duty_counts} ram={m['ram_bytes']} net_only_ram={net_fw['ram_bytes']} "
          f"arena={m['arena_bytes']} touched={m['arena_touched_bytes']} stack={m['stack_bytes']}")
