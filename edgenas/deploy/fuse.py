"""Lower a Graph to the kernel calls the compiled model makes, deciding fusion and in-place reuse.

Rewrites, each applied only where it is provably safe ("storage" below means all tensors that
share one arena buffer, through aliases and earlier in-place decisions):

- **reshape -> alias.** RESHAPE changes no bytes (NHWC, batch 1), so its output names the same
  storage as its input and no kernel runs.
- **residual ADD -> conv epilogue.** ``y = add(conv(x), s)`` becomes one conv step whose
  epilogue takes each int8 value the unfused conv would store, adds ``s`` at the same position
  with the ADD's parameters and writes the sum *over* ``s``. Legal when: the conv output has
  the ADD as its only reader and is not a graph output; ``s`` already exists when the conv
  runs; nothing but the ADD reads ``s``'s storage at or after the conv (so the conv does not
  read ``s``: it reads neighbourhoods of its *input*, which must be another buffer); ``s`` is
  not a graph output; shapes and dtypes match. Of the ADD's two operands the one produced later
  is the conv; the other is the skip. For *any* conv geometry each output element reads exactly
  one skip element, at its own position, just before overwriting it, so KxK and strided convs
  qualify too, and ``en_conv2d_add_s8`` runs them all in one call (with
  ``CONV_ADD_KERNEL_ANY_GEOMETRY = False`` non-pointwise ones run *banded* instead: one output
  row at a time into a row scratch with ``en_conv2d_s8``, then ``en_add_s8`` over that row of ``s``).
- **in-place pointwise conv** (banded): a 1x1 stride-1 conv with ``C_out <= C_in`` that is the
  last reader of its input writes its output over the input chunk by chunk (codegen uses chunks
  of up to one row's pixels, a multiple of 4): chunk k's input is saved to the one-row scratch,
  then its output lands at ``k*P*C_out``, which never reaches the input of later chunks (they
  start at ``(k+1)*P*C_in``).
- **in-place depthwise** (``en_dwconv2d_s8`` with ``out == in``): when the depthwise conv is the
  last reader of its input's storage, its output is written over the input channel by channel
  through a one-plane scratch copy (every write to channel c lands on channel c's own, already
  saved, input), so any stride is safe as long as the output is not larger than the input.
- **in-place ADD / SOFTMAX** (unfused): the output reuses the storage of an input that has no
  later reader; both kernels allow ``out == in`` element by element.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import UnsupportedOpError
from .ir import Graph, Op

KERNEL_KINDS = ("conv2d", "depthwise_conv2d", "add", "avg_pool2d", "mean", "fully_connected", "softmax", "pad")

FUSE_ADD_MODES = ("none", "pointwise", "any")
FUSE_ADD_DEFAULT = "any"
"""Which convs may take a residual ADD epilogue: ``any`` = every conv geometry (pointwise ones
in en_conv2d_add_s8, see CONV_ADD_KERNEL_ANY_GEOMETRY); ``pointwise`` = only 1x1 stride-1 convs;
``none`` = never fuse."""

CONV_ADD_KERNEL_ANY_GEOMETRY = True
"""en_conv2d_add_s8 (and its packed twin) accept every conv geometry, so fused ADDs run in one
kernel call and need no row scratch (ResNet-8: 33,280 -> 32,768 bytes). False restores the
banded fallback (one output row at a time through a row scratch)."""


@dataclass(frozen=True)
class Step:
    """One kernel call.

    Attributes:
        index: position in the schedule (the profiler's layer number).
        op_index: index in ``graph.ops`` of the main op.
        kind: the main op's kind.
        input: the activation input tensor (first activation input of the op).
        output: tensor the step writes (for a fused ADD: the ADD's output).
        extra_input: second activation input (unfused ADD), or None.
        residual: skip tensor read and overwritten by a fused ADD epilogue, or None.
        conv_output: for a fused ADD, the conv's own int8 output tensor (never stored; its
            quantization is the epilogue's first-operand quantization), else None.
        add_op_index: index in ``graph.ops`` of the fused ADD, or None.
        in_place: the output shares storage with an input (depthwise, pointwise conv, ADD,
            SOFTMAX) or with ``residual`` (fused ADD).
        banded: run through a one-row scratch: in-place pointwise conv (chunks of pixels), or,
            with CONV_ADD_KERNEL_ANY_GEOMETRY off, a fused ADD on a non-pointwise conv (rows).
    """

    index: int
    op_index: int
    kind: str
    input: str
    output: str
    extra_input: str | None = None
    residual: str | None = None
    conv_output: str | None = None
    add_op_index: int | None = None
    in_place: bool = False
    banded: bool = False


@dataclass
class Schedule:
    """Kernel calls in order, plus which tensors share storage.

    ``storage[t]`` names the root tensor whose buffer ``t`` lives in (itself when it owns one).
    Tensors absent from ``storage`` are constants or were fused away (never stored).
    """

    graph: Graph
    steps: list[Step]
    storage: dict[str, str]
    decisions: list[str] = field(default_factory=list)

    def buffer_of(self, tensor: str) -> str:
        return self.storage[tensor]


def activation_inputs(graph: Graph, op: Op) -> list[str]:
    """The op's non-constant inputs, in order."""
    return [t for t in op.inputs if t and not graph.tensor(t).is_const]


class _Storage:
    """Tensors grouped into buffers (each tensor maps to its buffer's root tensor)."""

    def __init__(self) -> None:
        self.root: dict[str, str] = {}

    def own(self, t: str) -> None:
        self.root[t] = t

    def alias(self, t: str, of: str) -> None:
        self.root[t] = self.root[of]

    def members(self, root: str) -> set[str]:
        return {t for t, r in self.root.items() if r == root}


class _Lowering:
    """State of one :func:`lower` call."""

    def __init__(self, graph: Graph, fuse_add: str, in_place: bool) -> None:
        self.graph = graph
        self.fuse_add = fuse_add
        self.in_place = in_place
        self.consumers = graph.consumers()
        self.producers = graph.producers()
        self.outputs = set(graph.outputs)
        # Reshape aliases of the whole graph, known up front, so a reader reaching a buffer
        # through a *later* reshape is still seen when deciding reuse.
        self.reshape_root: dict[str, str] = {}
        for op in graph.ops:
            if op.kind == "reshape":
                src = op.inputs[0]
                self.reshape_root[op.outputs[0]] = self.reshape_root.get(src, src)
        self.storage = _Storage()

    def full_members(self, root: str) -> set[str]:
        """Tensors of buffer ``root``, including all future reshape aliases of them."""
        merged = self.storage.members(root)
        return merged | {t for t, r in self.reshape_root.items() if r in merged}

    def dead_after(self, root: str, i: int, ignore: int | None = None) -> bool:
        """No op after ``i`` (other than ``ignore``) reads the buffer, and it is no graph output."""
        members = self.full_members(root)
        if members & self.outputs:
            return False
        return all(r <= i or r == ignore for t in members for r in self.consumers.get(t, []))

    def fusable_add(self, a: int, op: Op, taken: set[int]) -> tuple[int, str, str] | None:
        """(conv op index, conv output, skip) when ADD ``a`` folds into a conv epilogue."""
        g = self.graph
        acts = activation_inputs(g, op)
        if len(acts) != 2 or acts[0] == acts[1]:
            return None
        conv_out, skip = sorted(acts, key=lambda t: self.producers.get(t, -1), reverse=True)
        p = self.producers.get(conv_out)
        if p is None or p in taken or g.ops[p].kind != "conv2d":
            return None
        if self.fuse_add == "pointwise" and not _pointwise(g, g.ops[p]):
            return None
        if self.consumers.get(conv_out) != [a] or conv_out in self.outputs:
            return None
        out, tc, ts = g.tensor(op.outputs[0]), g.tensor(conv_out), g.tensor(skip)
        if not (tc.shape == ts.shape == out.shape) or not (tc.dtype == ts.dtype == out.dtype == "int8"):
            return None
        if self.producers.get(self.reshape_root.get(skip, skip), -1) >= p:
            return None
        return p, conv_out, skip

    def run(self) -> Schedule:
        g = self.graph
        for t in g.inputs:
            self.storage.own(t)
        decisions: list[str] = []
        pending: dict[int, tuple[int, str, str]] = {}
        if self.fuse_add != "none":
            for a, op in enumerate(g.ops):
                if op.kind == "add":
                    choice = self.fusable_add(a, op, set(pending))
                    if choice is not None:
                        pending[choice[0]] = (a, choice[1], choice[2])
        skipped_adds: set[int] = set()
        steps: list[Step] = []
        for i, op in enumerate(g.ops):
            label = op.name or f"{op.kind}#{i}"
            if op.kind not in KERNEL_KINDS and op.kind != "reshape":
                raise UnsupportedOpError(
                    f"op {i} ({label}): no C kernel for {op.kind!r}",
                    hint="export the model with the supported ops: " + ", ".join(KERNEL_KINDS + ("reshape",)),
                )
            if i in skipped_adds:
                continue
            if op.kind == "reshape":
                self.storage.alias(op.outputs[0], op.inputs[0])
                decisions.append(f"{label}: alias of {op.inputs[0]} (no copy)")
                continue
            acts = activation_inputs(g, op)
            if not acts:
                raise UnsupportedOpError(f"op {i} ({label}) has no activation input", hint="fold constant ops before compiling")
            out = op.outputs[0]
            step = Step(index=len(steps), op_index=i, kind=op.kind, input=acts[0], output=out,
                        extra_input=acts[1] if op.kind == "add" and len(acts) > 1 else None)
            if i in pending:
                a, conv_out, skip = pending[i]
                # Re-check against the storage as it is now (earlier in-place choices merge buffers).
                if self.dead_after(self.storage.root[skip], i, ignore=a) and self.storage.root[skip] != self.storage.root[acts[0]]:
                    self.storage.alias(g.ops[a].outputs[0], skip)
                    skipped_adds.add(a)
                    step = Step(index=step.index, op_index=i, kind=op.kind, input=acts[0], output=g.ops[a].outputs[0],
                                residual=skip, conv_output=conv_out, add_op_index=a, in_place=True,
                                banded=not (CONV_ADD_KERNEL_ANY_GEOMETRY or _pointwise(g, op)))
                    decisions.append(f"{g.ops[a].name or f'add#{a}'}: fused into {label}, written in place over {skip}")
                    steps.append(step)
                    continue
            reuse = self._in_place_source(i, op, acts)
            if reuse is not None:
                self.storage.alias(out, reuse)
                step = Step(index=step.index, op_index=i, kind=op.kind, input=step.input, output=out,
                            extra_input=step.extra_input, in_place=True, banded=op.kind == "conv2d")
                decisions.append(f"{label}: in place over {reuse}")
            else:
                self.storage.own(out)
            steps.append(step)
        for a, op in enumerate(g.ops):
            if op.kind == "add" and a not in skipped_adds:
                decisions.append(f"{op.name or f'add#{a}'}: kept as its own kernel")
        return Schedule(graph=g, steps=steps, storage=dict(self.storage.root), decisions=decisions)

    def _in_place_source(self, i: int, op: Op, acts: list[str]) -> str | None:
        """The input whose buffer op ``i`` may overwrite with its output, if any."""
        g = self.graph
        out = g.tensor(op.outputs[0])
        if not self.in_place:
            return None
        if op.kind == "depthwise_conv2d":
            candidates = acts[:1]
        elif op.kind == "conv2d":
            tin = g.tensor(acts[0])
            if not (_pointwise(g, op) and len(tin.shape) == 4 and tin.shape[0] == 1 and out.shape[-1] <= tin.shape[-1]):
                return None
            candidates = acts[:1]
        elif op.kind in ("add", "softmax"):
            candidates = acts
        else:
            return None
        for src in candidates:
            root = self.storage.root[src]
            tin = g.tensor(src)
            if tin.dtype != out.dtype or g.tensor(root).nbytes < out.nbytes:
                continue
            if op.kind in ("add", "softmax") and tin.nbytes != out.nbytes:
                continue
            if op.kind == "add" and len(acts) == 2 and self.storage.root[acts[0]] == self.storage.root[acts[1]]:
                continue
            if self.dead_after(root, i):
                return src
        return None


def _pointwise(graph: Graph, op: Op) -> bool:
    """1x1 kernel, stride 1, and (hence) no padding."""
    w = graph.tensor(op.inputs[1])
    _, kh, kw, _ = w.shape
    return kh == 1 and kw == 1 and op.attrs.get("stride_h", 1) == 1 and op.attrs.get("stride_w", 1) == 1


def lower(graph: Graph, *, fuse_add: str = FUSE_ADD_DEFAULT, in_place: bool = True) -> Schedule:
    """Turn ``graph`` into a :class:`Schedule` of kernel calls with fusion and reuse decided.

    Args:
        graph: a validated int8 graph in execution order.
        fuse_add: one of :data:`FUSE_ADD_MODES`.
        in_place: allow in-place depthwise, ADD and SOFTMAX.

    Raises:
        UnsupportedOpError: an op kind the C runtime has no kernel for.
        ValueError: an unknown ``fuse_add`` mode.
    """
    if fuse_add not in FUSE_ADD_MODES:
        raise ValueError(f"fuse_add must be one of {FUSE_ADD_MODES}, got {fuse_add!r}")
    graph.validate()
    return _Lowering(graph, fuse_add, in_place).run()
