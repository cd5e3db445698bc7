"""Memory planner: exact offsets, no overlap on real lifetimes, limits, fusion and in-place rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgenas.deploy.allocator import _ORDERINGS, BufferRequest, _run, allocate, find_overlaps, lifetime_lower_bound
from edgenas.deploy.fuse import lower
from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.plan import plan_memory
from edgenas.errors import MemoryOverflowError

MODELS = Path("/work/shared/models/mlperf-tiny")
Q = QuantParams(scale=(0.05,), zero_point=(-3,))


class _Builder:
    """Tiny graph builder for shape-level tests (weights are zeros: only shapes matter here)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.tensors: dict[str, Tensor] = {"x": Tensor("x", shape, "int8", Q)}
        self.ops: list[Op] = []

    def _act(self, name: str, shape: tuple[int, ...]) -> str:
        self.tensors[name] = Tensor(name, shape, "int8", Q)
        return name

    def _const(self, name: str, shape: tuple[int, ...], dtype: str = "int8") -> str:
        self.tensors[name] = Tensor(name, shape, dtype, Q, data=np.zeros(shape, dtype))
        return name

    def conv(self, x: str, cout: int, k: int = 1, stride: int = 1, dw: bool = False) -> str:
        n, h, w, c = self.tensors[x].shape
        oh, ow = -(-h // stride), -(-w // stride)
        i = len(self.ops)
        wshape = (1, k, k, c) if dw else (cout, k, k, c)
        out = self._act(f"t{i}", (n, oh, ow, c if dw else cout))
        kind = "depthwise_conv2d" if dw else "conv2d"
        ins = [x, self._const(f"w{i}", wshape), self._const(f"b{i}", (wshape[-1] if dw else cout,), "int32")]
        attrs = dict(stride_h=stride, stride_w=stride, dilation_h=1, dilation_w=1, padding="same", activation="relu")
        self.ops.append(Op(kind, ins, [out], attrs, name=f"op{i}"))
        return out

    def add(self, a: str, b: str) -> str:
        i = len(self.ops)
        out = self._act(f"t{i}", self.tensors[a].shape)
        self.ops.append(Op("add", [a, b], [out], {"activation": "none"}, name=f"op{i}"))
        return out

    def reshape(self, a: str, shape: tuple[int, ...]) -> str:
        i = len(self.ops)
        out = self._act(f"t{i}", shape)
        self.ops.append(Op("reshape", [a], [out], {"new_shape": shape}, name=f"op{i}"))
        return out

    def graph(self, *outputs: str) -> Graph:
        return Graph(dict(self.tensors), list(self.ops), ["x"], list(outputs), name="synthetic")


# ---------------------------------------------------------------- allocator


def test_allocator_exact_offsets() -> None:
    # A [0,1] 100 B, B [1,2] 50 B, C [2,3] 100 B, 8-byte alignment (100 -> 104, 50 -> 56).
    # Largest first: A at 0; C does not meet A in time -> 0; B meets both -> above them at 104.
    reqs = [BufferRequest("A", 100, 0, 1), BufferRequest("B", 50, 1, 2), BufferRequest("C", 100, 2, 3)]
    alloc = allocate(reqs)
    assert alloc.offsets == {"A": 0, "C": 0, "B": 104}
    assert alloc.arena_bytes == 160
    assert lifetime_lower_bound(reqs) == 150


def test_allocator_fills_gaps() -> None:
    # Big buffers X (0-1) and Y (3-4) at 0; Z (0-4, 16 B) must go above them; small W (2) fits at 0.
    reqs = [
        BufferRequest("X", 64, 0, 1),
        BufferRequest("Y", 64, 3, 4),
        BufferRequest("Z", 16, 0, 4),
        BufferRequest("W", 40, 2, 2),
    ]
    alloc = allocate(reqs)
    assert alloc.arena_bytes == 80
    assert alloc.offsets["Z"] == 64 and alloc.offsets["W"] == 0
    assert not find_overlaps(reqs, alloc.offsets)


def test_allocator_alignment_and_bad_input() -> None:
    reqs = [BufferRequest("a", 3, 0, 0), BufferRequest("b", 5, 0, 0), BufferRequest("c", 1, 0, 1)]
    alloc = allocate(reqs, alignment=16)
    assert all(off % 16 == 0 for off in alloc.offsets.values())
    assert alloc.arena_bytes == 48
    with pytest.raises(ValueError):
        allocate([BufferRequest("a", 1, 2, 1)])
    with pytest.raises(ValueError):
        allocate([BufferRequest("a", 1, 0, 1), BufferRequest("a", 1, 0, 1)])
    with pytest.raises(ValueError):
        allocate(reqs, alignment=6)


def test_allocator_random_lifetimes_never_overlap() -> None:
    rng = np.random.default_rng(1234)
    improved = 0
    for trial in range(30):
        n = int(rng.integers(1, 25))
        reqs = []
        for i in range(n):
            a, b = sorted(int(v) for v in rng.integers(0, 12, size=2))
            reqs.append(BufferRequest(f"b{i}", int(rng.integers(1, 5000)), a, b))
        alloc = allocate(reqs)
        assert not find_overlaps(reqs, alloc.offsets), trial
        assert alloc.arena_bytes >= lifetime_lower_bound(reqs)
        singles = [_run(reqs, key, bf, 8)[1] for key in _ORDERINGS.values() for bf in (False, True)]
        assert alloc.arena_bytes == min(singles)
        improved += alloc.arena_bytes < singles[0]
        assert all(off % 8 == 0 for off in alloc.offsets.values())
    assert improved > 0  # trying several heuristics beats plain size-ordered first-fit sometimes


def test_allocator_limit_raises_with_hint() -> None:
    reqs = [BufferRequest("a", 1000, 0, 1), BufferRequest("b", 1000, 1, 2)]
    assert allocate(reqs, arena_limit_bytes=2000).arena_bytes == 2000
    with pytest.raises(MemoryOverflowError) as e:
        allocate(reqs, arena_limit_bytes=1999)
    assert "2000" in str(e.value) and e.value.hint


# ---------------------------------------------------------------- fusion / in-place rules


def _residual_block(k: int) -> tuple[Graph, str]:
    b = _Builder((1, 8, 8, 16))
    s = b.conv("x", 16, k=3)  # skip
    h = b.conv(s, 16, k=3)
    y = b.conv(h, 16, k=k)
    return b.graph(b.add(s, y)), s


def test_residual_add_fuses_into_pointwise_conv() -> None:
    g, skip = _residual_block(k=1)
    sched = lower(g)
    assert [s.kind for s in sched.steps] == ["conv2d", "conv2d", "conv2d"]
    last = sched.steps[-1]
    assert last.residual == skip and last.output == "t3" and last.in_place and last.conv_output == "t2"
    assert sched.buffer_of("t3") == sched.buffer_of(skip)
    plan = plan_memory(g, schedule=sched)
    # Peak: skip + h (the conv output lands on the skip): 2 * 1024.
    assert plan.lower_bound_bytes == 2048 and plan.arena_bytes == 2048
    assert plan.tensor_offsets["t3"] == plan.tensor_offsets[skip]
    assert "t2" not in plan.tensor_offsets


def test_residual_add_kxk_fusion_is_one_kernel_call() -> None:
    g, _ = _residual_block(k=3)
    sched = lower(g)  # default: any geometry, in one en_conv2d_add_s8 call, no scratch
    last = sched.steps[-1]
    assert last.residual is not None and not last.banded
    plan = plan_memory(g, schedule=sched)
    assert last.index not in plan.scratch
    assert plan.arena_bytes == plan.lower_bound_bytes == 2048


def test_residual_add_kxk_fusion_is_banded(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgenas.deploy import fuse

    monkeypatch.setattr(fuse, "CONV_ADD_KERNEL_ANY_GEOMETRY", False)
    g, _ = _residual_block(k=3)
    assert all(s.residual is None for s in lower(g, fuse_add="pointwise").steps)
    sched = lower(g)  # any geometry; a KxK conv runs banded through a row scratch
    last = sched.steps[-1]
    assert last.residual is not None and last.banded
    plan = plan_memory(g, schedule=sched)
    assert plan.scratch[last.index][1] == 8 * 16  # one output row: OW * C_out
    assert plan.arena_bytes == plan.lower_bound_bytes == 2048 + 128
    unfused = plan_memory(g, schedule=lower(g, fuse_add="none"))
    assert unfused.arena_bytes == 3 * 1024  # skip, h and y live together; the ADD then runs in place
    assert unfused.schedule.steps[-1].kind == "add" and unfused.schedule.steps[-1].in_place


def test_residual_add_not_fused_when_skip_read_later() -> None:
    b = _Builder((1, 8, 8, 16))
    s = b.conv("x", 16)
    y = b.conv(s, 16)
    a = b.add(s, y)
    z = b.conv(s, 16)  # skip still needed after the ADD: cannot be overwritten
    g = b.graph(b.add(a, z))
    sched = lower(g)
    assert sched.steps[2].kind == "add" and sched.steps[2].residual is None
    # The unfused ADD may reuse y's buffer (dead after it) but never the skip's.
    assert sched.buffer_of(a) == sched.buffer_of(y) != sched.buffer_of(s)
    # The second ADD's operand z comes from a 1x1 conv and `a` is dead afterwards: fused.
    assert sched.steps[-1].residual == a
    plan_memory(g, schedule=sched).check_no_overlap()


def test_residual_add_not_fused_when_conv_reads_skip() -> None:
    b = _Builder((1, 8, 8, 16))
    s = b.conv("x", 16)
    y = b.conv(s, 16)  # reads the skip itself: writing over it would corrupt its own input
    g = b.graph(b.add(s, y))
    sched = lower(g, fuse_add="any")
    assert sched.steps[-1].kind == "add"


def test_inplace_depthwise_and_reshape_alias() -> None:
    b = _Builder((1, 10, 6, 8))
    h = b.conv("x", 32)
    d = b.conv(h, 0, k=3, dw=True)
    r = b.reshape(d, (1, 10 * 6 * 32))
    g = b.graph(r)
    sched = lower(g)
    dw = sched.steps[1]
    assert dw.in_place and sched.buffer_of(d) == sched.buffer_of(h) == sched.buffer_of(r)
    plan = plan_memory(g, schedule=sched)
    assert plan.scratch == {1: (plan.scratch[1][0], 60)}  # one channel plane: 10 * 6
    # Peak at step 0: x (480) + h (1920); at step 1: h (1920) + scratch (60).
    assert plan.lower_bound_bytes == 2400
    assert plan.arena_bytes == 2400
    assert not lower(g, in_place=False).steps[1].in_place


def test_in_place_pointwise_reserves_a_row_only_when_it_runs_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """One en_conv2d_packed_in_place_s8 call (C_out <= C_in <= the kernel's limit) needs no arena
    scratch; wider inputs go through a one-row scratch (W * C_in bytes)."""
    from edgenas.deploy import scratch

    def plan_for(cin: int):
        b = _Builder((1, 4, 6, 8))
        h = b.conv("x", cin)
        g = b.graph(b.conv(h, cin // 2))
        sched = lower(g)
        pw = sched.steps[1]
        assert pw.in_place and pw.banded and sched.buffer_of(pw.output) == sched.buffer_of(h)
        return plan_memory(g, schedule=sched)

    assert plan_for(32).scratch == {}
    monkeypatch.setattr(scratch, "CONV_IN_PLACE_MAX_CIN", 16)
    wide = plan_for(32)
    assert [size for _, size in wide.scratch.values()] == [6 * 32]


def test_depthwise_not_in_place_when_input_read_later() -> None:
    b = _Builder((1, 10, 6, 8))
    h = b.conv("x", 8)
    d = b.conv(h, 0, k=3, dw=True)
    g = b.graph(b.add(h, d))
    sched = lower(g, fuse_add="none")
    assert not sched.steps[1].in_place


def test_plan_limit_error() -> None:
    g, _ = _residual_block(k=1)
    with pytest.raises(MemoryOverflowError):
        plan_memory(g, arena_limit_bytes=2047)


# ---------------------------------------------------------------- real models


def _read(name: str) -> Graph:
    reader = pytest.importorskip("edgenas.deploy.tflite_reader")
    path = MODELS / name
    if not path.exists():
        pytest.skip(f"{path} missing")
    return reader.read_tflite(path)


@pytest.mark.parametrize("model", ["ic_resnet8_int8.tflite", "kws_dscnn_int8.tflite"])
def test_real_model_plan_is_sound_and_tight(model: str) -> None:
    g = _read(model)
    for mode in ("none", "pointwise", "any"):
        plan = plan_memory(g, schedule=lower(g, fuse_add=mode))
        plan.check_no_overlap()
        assert not find_overlaps(plan.buffers, plan.buffer_offsets)
        assert plan.arena_bytes <= 1.05 * plan.lower_bound_bytes, (mode, plan.arena_bytes, plan.lower_bound_bytes)
        # Every stored tensor has an offset, and every tensor a step reads or writes is stored.
        for s in plan.schedule.steps:
            for t in (s.input, s.output, s.extra_input, s.residual):
                if t:
                    assert t in plan.tensor_offsets


def test_plan_is_deterministic() -> None:
    g = _read("kws_dscnn_int8.tflite")
    assert plan_memory(g).to_json() == plan_memory(g).to_json()
