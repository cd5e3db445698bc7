"""Integration: the MLPerf Tiny models (KWS DS-CNN, ResNet-8) from the deploy code generator run
in QEMU on every emulated board and match TFLite Micro and the host build bit for bit, through
the real kit, harness, link and driver."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgenas.targets.cortex_m import build_firmware, driver, elf_memory
from tests.targets.board_names import EMULATED

pytestmark = pytest.mark.board

MODELS = Path("/work/shared/models/mlperf-tiny")
KWS = MODELS / "kws_dscnn_int8.tflite"
RESNET8 = MODELS / "ic_resnet8_int8.tflite"


@pytest.mark.parametrize("board_name", EMULATED)
@pytest.mark.parametrize("model", [KWS, RESNET8], ids=["kws", "resnet8"])
def test_mlperf_model_bit_exact_in_qemu(model, board_name, tmp_path, boards):
    from edgenas.deploy.compile import compile_graph
    from edgenas.deploy.host_build import build_host
    from edgenas.deploy.tflite_reader import read_tflite
    from edgenas.deploy.tflm import run_tflm

    if not model.exists():
        pytest.skip(f"{model} not available")
    graph = read_tflite(model)
    compile_graph(graph, tmp_path / "src")
    fw = build_firmware(tmp_path / "src", boards.get(board_name), tmp_path / "fw")
    mem = elf_memory(fw.elf)
    assert mem["weights_bytes"] > 20_000 and mem["arena_bytes"] > 0
    assert mem["flash_bytes"] - mem["weights_bytes"] < 25 * 1024  # runtime + kit + harness stay lean

    shape = graph.tensor(graph.inputs[0]).shape
    x = np.random.default_rng(0).integers(-128, 128, size=(2, *shape[1:]), dtype=np.int8)
    want = run_tflm(model.read_bytes(), x).reshape(2, -1)
    assert np.array_equal(build_host(tmp_path / "src").run(x), want)
    ms = driver.run(fw, [xi.tobytes() for xi in x])
    for m, w in zip(ms, want):
        assert np.frombuffer(m.output, np.int8).tolist() == w.tolist()
        assert m.unit == "instructions" and 1e6 < m.total_count < 200e6
        assert all(c > 0 for c in m.per_layer)
        assert 0 <= m.total_count - sum(m.per_layer) < 0.01 * m.total_count
        assert 0 < m.stack_bytes < fw.stack_bytes
