"""The DARTS cell space (Liu et al., 2019) for training-from-scratch search, sized for 28x28 images.

A cell takes the outputs of the two previous cells, ``s0`` and ``s1`` (each first mapped to ``C``
channels), and computes ``nodes`` intermediate nodes; node ``i`` is the sum of one *mixed op* per
earlier state (``s0``, ``s1``, nodes ``0..i-1``), and the cell outputs the concatenation of all
intermediate nodes (``nodes * C`` channels). A mixed op is the softmax-weighted sum of the eight
standard ops. *Reduction* cells (at 1/3 and 2/3 of the depth) apply their ops with stride 2 on the
cell inputs and double ``C``. All cells of a kind share one set of logits (``alpha_normal``,
``alpha_reduce``: ``(edges, 8)``). As in the paper's search phase, batch norms have no affine
parameters, and every conv op is ReLU-conv-BN.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

PRIMITIVES = (
    "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect",
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
)
PARAM_FREE = ("max_pool_3x3", "avg_pool_3x3", "skip_connect")
"""Ops without weights (``none`` aside): the ones a collapsed search piles its weight onto."""


def edge_count(nodes: int) -> int:
    """Edges of a cell with ``nodes`` intermediate nodes: node ``i`` has ``i + 2`` inputs."""
    return sum(i + 2 for i in range(nodes))


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(nn.ReLU(), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, affine=False))


class DilConv(nn.Sequential):
    """ReLU, depthwise ``kernel`` conv with dilation, pointwise conv, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_in, kernel, stride, padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=False),
        )


class SepConv(nn.Sequential):
    """Two stacked ``DilConv`` with dilation 1 (the first carries the stride), as in DARTS."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(DilConv(c_in, c_in, kernel, stride, padding, 1), DilConv(c_in, c_out, kernel, 1, padding, 1))


class Zero(nn.Module):
    """``none``: zeros of the output shape (contributes nothing, keeps the graph well-formed)."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class FactorizedReduce(nn.Module):
    """Stride-2 identity substitute: two offset 1x1 stride-2 convs, concatenated (DARTS)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.b = nn.Conv2d(c_in, c_out - c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))  # odd sizes: pad so both halves agree
        return self.bn(torch.cat([self.a(x), self.b(shifted)], dim=1))


class _Pool(nn.Sequential):
    def __init__(self, kind: str, c: int, stride: int) -> None:
        pool = nn.MaxPool2d(3, stride, 1) if kind == "max" else nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        super().__init__(pool, nn.BatchNorm2d(c, affine=False))


OPS: dict[str, Callable[[int, int], nn.Module]] = {
    "none": lambda c, s: Zero(s),
    "max_pool_3x3": lambda c, s: _Pool("max", c, s),
    "avg_pool_3x3": lambda c, s: _Pool("avg", c, s),
    "skip_connect": lambda c, s: nn.Identity() if s == 1 else FactorizedReduce(c, c),
    "sep_conv_3x3": lambda c, s: SepConv(c, c, 3, s, 1),
    "sep_conv_5x5": lambda c, s: SepConv(c, c, 5, s, 2),
    "dil_conv_3x3": lambda c, s: DilConv(c, c, 3, s, 2, 2),
    "dil_conv_5x5": lambda c, s: DilConv(c, c, 5, s, 4, 2),
}
"""Op factories ``(channels, stride) -> module``, keyed by ``PRIMITIVES``."""


class MixedOp(nn.Module):
    """``sum_o w_o * op_o(x)`` over the eight primitives (one edge of a cell)."""

    def __init__(self, c: int, stride: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList(OPS[name](c, stride) for name in PRIMITIVES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.ops))  # type: ignore[return-value]


class SearchCell(nn.Module):
    """A normal or reduction cell with ``nodes`` intermediate nodes (module docstring)."""

    def __init__(self, nodes: int, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.nodes = nodes
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.edges = nn.ModuleList()
        for i in range(nodes):
            for j in range(i + 2):
                self.edges.append(MixedOp(c, 2 if reduction and j < 2 else 1))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        offset = 0
        for _ in range(self.nodes):
            node = sum(self.edges[offset + j](h, weights[offset + j]) for j, h in enumerate(states))
            offset += len(states)
            states.append(node)  # type: ignore[arg-type]
        return torch.cat(states[2:], dim=1)


class CellSearchNet(nn.Module):
    """A small stacked cell network for ``(N, in_channels, 28, 28)`` images.

    Args:
        in_channels, num_classes: of the data.
        channels: ``C`` of the first cells (doubled at each reduction).
        layers: cells; reductions sit at ``layers // 3`` and ``2 * layers // 3``.
        nodes: intermediate nodes per cell.
        stem_multiplier: stem conv outputs ``stem_multiplier * C`` channels.
        generator: draws the initial logits (``1e-3 * N(0, 1)``).
    """

    def __init__(self, in_channels: int, num_classes: int, *, channels: int = 8, layers: int = 3, nodes: int = 4,
                 stem_multiplier: int = 3, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.nodes = nodes
        c_cur = stem_multiplier * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_cur, 3, padding=1, bias=False), nn.BatchNorm2d(c_cur))
        c_pp, c_p, c = c_cur, c_cur, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            self.cells.append(SearchCell(nodes, c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, nodes * c
        self.classifier = nn.Linear(c_p, num_classes)
        edges = edge_count(nodes)
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(edges, len(PRIMITIVES), generator=generator))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(edges, len(PRIMITIVES), generator=generator))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha_normal, self.alpha_reduce]

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters() if not name.startswith("alpha_")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_normal = F.softmax(self.alpha_normal, dim=-1)
        w_reduce = F.softmax(self.alpha_reduce, dim=-1)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, w_reduce if cell.reduction else w_normal)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(s1, 1), 1))
