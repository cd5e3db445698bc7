import json

import numpy as np
import pytest

from edgenas.boards import board_for_target
from edgenas.cost import CostModel, kernel_calls, macs, model_flash_bytes, params
from edgenas.cost.overhead import OVERHEAD_TABLE, overhead_for_core
from edgenas.deploy import compile_graph, structure_graph
from edgenas.deploy.crop_taps import crop_dead_taps
from edgenas.errors import BoardError
from edgenas.space import Arch, get_space, largest_arch, sample_arch, smallest_arch


def _graph_counts(graph):
    """MACs and parameters counted independently from the IR's ops."""
    total_macs = total_params = 0
    for op in graph.ops:
        if op.kind not in ("conv2d", "depthwise_conv2d", "fully_connected"):
            continue
        w, b = graph.tensor(op.inputs[1]), graph.tensor(op.inputs[2])
        out = graph.tensor(op.outputs[0])
        total_params += int(np.prod(w.shape)) + int(np.prod(b.shape))
        if op.kind == "conv2d":
            total_macs += int(np.prod(out.shape)) * int(np.prod(w.shape[1:]))
        elif op.kind == "depthwise_conv2d":
            total_macs += int(np.prod(out.shape)) * w.shape[1] * w.shape[2]
        else:
            total_macs += int(np.prod(w.shape))
    return total_macs, total_params


@pytest.mark.parametrize("space", ["mcu-mbv2", "tiny-test"])
@pytest.mark.slow
def test_counts_equal_the_compiled_model(space, tmp_path):
    spec = get_space(space)
    rng = np.random.default_rng(3)
    for i, arch in enumerate([largest_arch(spec), smallest_arch(spec)] + [sample_arch(spec, rng) for _ in range(3)]):
        graph = structure_graph(spec, arch)
        compiled = compile_graph(graph, tmp_path / str(i))
        assert model_flash_bytes(spec, arch) == compiled.flash_bytes
        assert kernel_calls(spec, arch) == compiled.num_layers
        assert (macs(spec, arch), params(spec, arch)) == _graph_counts(crop_dead_taps(graph))


def test_cost_model_sums_agree_with_layer_functions():
    spec = get_space("mcu-mbv2")
    cost = CostModel(spec)
    rng = np.random.default_rng(0)
    for arch in [sample_arch(spec, rng) for _ in range(20)]:
        m = cost.metrics(arch)
        assert (m.macs, m.params, m.model_flash_bytes, m.layers) == (
            macs(spec, arch), params(spec, arch), model_flash_bytes(spec, arch), kernel_calls(spec, arch))
        assert m.sram_bytes == m.arena_bytes and m.flash_bytes == m.model_flash_bytes  # no board: model only


def test_firmware_estimates_match_the_measured_builds():
    """The overhead table's own builds: prediction within the stated fit error (bytes)."""
    table = json.loads(OVERHEAD_TABLE.read_text())
    spec = get_space("mcu-mbv2")
    for core, entry in table["cores"].items():
        cost = CostModel(spec, board_for_target(core))
        for build in entry["builds"]:
            m = cost.metrics(Arch.parse(build["arch"]))
            assert m.arena_bytes == build["arena_bytes"]
            assert m.model_flash_bytes == build["weights_bytes"]
            assert abs(m.flash_bytes - build["flash_bytes"]) <= entry["flash"]["max_abs_residual_bytes"] + 1
            assert abs(m.sram_bytes - build["ram_bytes"]) <= entry["ram"]["max_abs_residual_bytes"] + 1


def test_unknown_core_has_a_hint():
    with pytest.raises(BoardError) as err:
        overhead_for_core("cortex-m0")
    assert "calibrate" in err.value.hint


def test_latency_needs_a_table():
    m = CostModel(get_space("tiny-test")).metrics(smallest_arch(get_space("tiny-test")))
    assert m.latency is None
    with pytest.raises(Exception, match="latency"):
        m.get("latency")


def test_strided_depthwise_use_matches_the_compiled_calls(tmp_path):
    """The cost model adds the strided strategy's code exactly when the compiler calls it."""
    from edgenas.cost.metrics import uses_strided_depthwise

    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(3)
    archs = [smallest_arch(spec), largest_arch(spec)] + [sample_arch(spec, rng) for _ in range(4)]
    seen = set()
    for i, arch in enumerate(archs):
        compile_graph(structure_graph(spec, arch), tmp_path / str(i))
        calls = "".join(p.read_text() for p in (tmp_path / str(i)).glob("*.c"))
        assert uses_strided_depthwise(spec, arch) == ("en_dwconv2d_strided_s8(" in calls), arch
        seen.add(uses_strided_depthwise(spec, arch))
    assert seen == {True, False}


def test_kx1_depthwise_code_is_costed_only_when_called():
    """Square-kernel spaces never link the Kx1 strategy; the overhead adds its measured bytes
    only for a model that calls it."""
    from edgenas.cost.metrics import uses_kx1_depthwise, uses_kx1_long_depthwise
    from edgenas.cost.overhead import overhead_for_core

    spec = get_space("mcu-mbv2")
    assert not uses_kx1_depthwise(spec, largest_arch(spec))
    assert not uses_kx1_long_depthwise(spec, largest_arch(spec))
    o = overhead_for_core("cortex-m7")
    assert o.flash_kx1_dw_bytes > 1000 and o.flash_kx1_long_dw_bytes > 1000
    assert o.flash_bytes(10, kx1_dw=True) - o.flash_bytes(10) == round(o.flash_kx1_dw_bytes)
    assert o.flash_bytes(10, kx1_long_dw=True) - o.flash_bytes(10) == round(o.flash_kx1_long_dw_bytes)
