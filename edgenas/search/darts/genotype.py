"""Discrete cells from DARTS logits, and the skip-connection collapse: detection and guard.

Derivation (Liu et al.): for node ``i``, each incoming edge is scored by its strongest op other
than ``none``; the two best edges are kept, each with that op. Inputs are numbered ``0`` = ``s0``,
``1`` = ``s1``, ``2 + k`` = node ``k``.

Collapse (Chen et al., P-DARTS; Liang et al., DARTS+; Zela et al.): as search goes on, parameter-free
ops, above all ``skip_connect``, win more and more edges of the normal cell, because they make the
supernet train fastest, not because the discrete cell is good. We *detect* it with two numbers:

- ``skip_count``: ``skip_connect`` edges in the derived (unguarded) normal cell; collapse when it
  exceeds ``max_skips`` (2, P-DARTS's and DARTS+'s threshold);
- ``param_free_share``: the mean share of softmax weight (``none`` excluded) that the normal cell's
  edges put on parameter-free ops (pools and skip); collapse when above ``max_param_free_share``.

We *guard* with P-DARTS's cap on the derived cell: when the normal cell has more than
``max_skips`` skip edges, only the ``max_skips`` with the largest skip weight keep it; each other
one takes its best op that is neither ``none`` nor ``skip_connect``. (Chosen over DARTS+'s early
stopping because it needs no extra schedule and leaves the search loop unchanged; both are reported.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .cells import PARAM_FREE, PRIMITIVES, edge_count

Gene = tuple[str, int]
"""(op name, input index) of one kept edge."""


@dataclass(frozen=True)
class Genotype:
    """A discrete cell pair: per node two ``(op, input)`` genes, in node order; all nodes are concatenated."""

    normal: tuple[Gene, ...]
    reduce: tuple[Gene, ...]
    nodes: int

    def to_dict(self) -> dict:
        return {"normal": [list(g) for g in self.normal], "reduce": [list(g) for g in self.reduce],
                "nodes": self.nodes, "concat": list(range(2, 2 + self.nodes))}

    def check(self) -> Genotype:
        """Return self if well-formed: 2 distinct earlier inputs per node, ops known and not ``none``.

        Raises:
            ValueError: describing the first broken rule.
        """
        for label, genes in (("normal", self.normal), ("reduce", self.reduce)):
            if len(genes) != 2 * self.nodes:
                raise ValueError(f"{label}: {len(genes)} genes for {self.nodes} nodes")
            for i in range(self.nodes):
                pair = genes[2 * i : 2 * i + 2]
                inputs = [j for _, j in pair]
                if len(set(inputs)) != 2 or not all(0 <= j < i + 2 for j in inputs):
                    raise ValueError(f"{label} node {i}: inputs {inputs} are not 2 distinct earlier states")
                for op, _ in pair:
                    if op not in PRIMITIVES or op == "none":
                        raise ValueError(f"{label} node {i}: op {op!r} is not a derivable primitive")
        return self


@dataclass(frozen=True)
class CollapseReport:
    """Skip-connection collapse indicators of one normal cell (module docstring)."""

    skip_count: int
    param_free_share: float
    max_skips: int
    max_param_free_share: float
    guarded_skips: int

    @property
    def collapsed(self) -> bool:
        return self.skip_count > self.max_skips or self.param_free_share > self.max_param_free_share

    def to_dict(self) -> dict:
        return {**asdict(self), "collapsed": self.collapsed}


def _edges_of(node: int) -> range:
    start = sum(i + 2 for i in range(node))
    return range(start, start + node + 2)


def derive_cell(weights: torch.Tensor, nodes: int) -> list[Gene]:
    """Top-2 inputs per node by their best non-``none`` op weight (``weights``: ``(edges, 8)``)."""
    if weights.shape != (edge_count(nodes), len(PRIMITIVES)):
        raise ValueError(f"weights of shape {tuple(weights.shape)} do not fit a cell of {nodes} nodes")
    w = weights.detach().clone()
    w[:, PRIMITIVES.index("none")] = float("-inf")
    genes: list[Gene] = []
    for i in range(nodes):
        edges = list(_edges_of(i))
        best = [(float(w[e].max()), j, int(w[e].argmax())) for j, e in enumerate(edges)]
        top = sorted(best, key=lambda t: (-t[0], t[1]))[:2]
        genes += [(PRIMITIVES[op], j) for _, j, op in sorted(top, key=lambda t: t[1])]
    return genes


def cap_skips(genes: list[Gene], weights: torch.Tensor, nodes: int, max_skips: int) -> list[Gene]:
    """P-DARTS's guard: keep the ``max_skips`` strongest skip edges, give the others their best
    op that is neither ``none`` nor ``skip_connect``."""
    skip = PRIMITIVES.index("skip_connect")
    w = weights.detach()
    where = [(g, i) for i, g in enumerate(genes) if g[0] == "skip_connect"]
    if len(where) <= max_skips:
        return list(genes)
    edge_of = [list(_edges_of(i // 2))[g[1]] for i, g in enumerate(genes)]
    ranked = sorted(where, key=lambda t: -float(w[edge_of[t[1]], skip]))
    out = list(genes)
    banned = {PRIMITIVES.index("none"), skip}
    for _, i in ranked[max_skips:]:
        row = w[edge_of[i]].clone()
        for b in banned:
            row[b] = float("-inf")
        out[i] = (PRIMITIVES[int(row.argmax())], genes[i][1])
    return out


def param_free_share(weights: torch.Tensor) -> float:
    """Mean over edges of the share of non-``none`` weight on parameter-free ops."""
    w = weights.detach().clone()
    w[:, PRIMITIVES.index("none")] = 0.0
    free = w[:, [PRIMITIVES.index(p) for p in PARAM_FREE]].sum(dim=1)
    return float((free / w.sum(dim=1).clamp_min(1e-12)).mean())


def derive_genotype(alpha_normal: torch.Tensor, alpha_reduce: torch.Tensor, nodes: int, *, max_skips: int = 2,
                    max_param_free_share: float = 0.6, guard: bool = True) -> tuple[Genotype, Genotype, CollapseReport]:
    """The raw genotype, the guarded one (skips capped when ``guard``) and the collapse report.

    Args:
        alpha_normal, alpha_reduce: logits ``(edges, 8)``; softmax per edge is applied here.
        nodes: intermediate nodes per cell.
        max_skips: skip edges allowed in the normal cell.
        max_param_free_share: collapse threshold on the parameter-free weight share.
        guard: apply the skip cap (else the guarded genotype is the raw one).
    """
    wn = torch.softmax(alpha_normal.detach().float(), dim=-1)
    wr = torch.softmax(alpha_reduce.detach().float(), dim=-1)
    normal, reduce = derive_cell(wn, nodes), derive_cell(wr, nodes)
    raw = Genotype(tuple(normal), tuple(reduce), nodes).check()
    capped = cap_skips(normal, wn, nodes, max_skips) if guard else normal
    guarded = Genotype(tuple(capped), tuple(reduce), nodes).check()
    report = CollapseReport(
        skip_count=sum(op == "skip_connect" for op, _ in normal),
        param_free_share=param_free_share(wn),
        max_skips=max_skips,
        max_param_free_share=max_param_free_share,
        guarded_skips=sum(op == "skip_connect" for op, _ in capped),
    )
    return raw, guarded, report
