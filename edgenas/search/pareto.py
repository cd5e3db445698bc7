"""Pareto tools for minimised objectives: dominance, non-dominated sorting, hypervolume, a plot.

Every objective is minimised (write accuracy as ``-accuracy``). ``a`` dominates ``b`` when it is
no worse in every objective and better in at least one; equal points do not dominate each other,
so duplicates share a front. Hypervolume is exact for 1 to 3 objectives: 2-D by a sweep over the
front sorted on the first objective, 3-D by slicing along the third objective and summing the
2-D areas of the points below each slice (O(n^2 log n), fine for fronts of a few thousand).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import UsageError

Points = Sequence[Sequence[float]] | np.ndarray


def _as_array(points: Points) -> np.ndarray:
    arr = np.asarray(points, dtype=float)
    if arr.size == 0:
        return arr.reshape(0, arr.shape[1] if arr.ndim == 2 else 0)
    if arr.ndim != 2:
        raise UsageError(f"points must be a 2-D array (N, objectives), got shape {arr.shape}")
    return arr


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is no worse than ``b`` everywhere and strictly better somewhere (minimising)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(x <= y) and np.any(x < y))


def non_dominated_sort(points: Points) -> list[list[int]]:
    """Fronts of ``points`` (indices, each front in input order): front 0 is non-dominated, front
    k is non-dominated once fronts < k are removed (Deb et al.'s fast non-dominated sort)."""
    arr = _as_array(points)
    n = len(arr)
    if n == 0:
        return []
    le = np.all(arr[:, None, :] <= arr[None, :, :], axis=2)
    lt = np.any(arr[:, None, :] < arr[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)  # how many points dominate j
    fronts: list[list[int]] = []
    current = np.flatnonzero(count == 0)
    while current.size:
        fronts.append(current.tolist())
        count = count - dom[current].sum(axis=0)
        count[current] = -1  # placed
        current = np.flatnonzero(count == 0)
    return fronts


def pareto_front(points: Points) -> list[int]:
    """Indices of the non-dominated points (input order)."""
    fronts = non_dominated_sort(points)
    return fronts[0] if fronts else []


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    """Area dominated by 2-D points (all strictly below ``ref``) up to ``ref``."""
    if len(pts) == 0:
        return 0.0
    order = np.lexsort((pts[:, 1], pts[:, 0]))  # by x, then y
    area, best_y = 0.0, ref[1]
    xs, ys = pts[order, 0], pts[order, 1]
    for i in range(len(xs)):
        if ys[i] < best_y:
            # this point lowers the staircase from x_i to the right; add the strip it uncovers
            area += (ref[0] - xs[i]) * (best_y - ys[i])
            best_y = ys[i]
    return float(area)


def hypervolume(points: Points, reference: Sequence[float]) -> float:
    """Volume dominated by ``points`` and bounded by ``reference`` (exact, 1 to 3 objectives).

    Points not strictly better than ``reference`` in every objective add nothing.

    Raises:
        UsageError: more than 3 objectives, or a reference of another length.
    """
    arr = _as_array(points)
    ref = np.asarray(reference, dtype=float)
    if arr.size == 0:
        return 0.0
    m = arr.shape[1]
    if ref.shape != (m,):
        raise UsageError(f"reference point has {ref.size} values, the points have {m} objectives")
    if m > 3:
        raise UsageError(f"exact hypervolume is implemented for 1 to 3 objectives, got {m}",
                         hint="pick at most three objectives")
    arr = arr[np.all(arr < ref, axis=1)]
    if len(arr) == 0:
        return 0.0
    if m == 1:
        return float(ref[0] - arr[:, 0].min())
    if m == 2:
        return _hv2(arr, ref)
    # 3-D: between consecutive z levels, the dominated cross-section is the 2-D hypervolume of
    # every point at or below the lower level
    order = np.argsort(arr[:, 2], kind="stable")
    pts = arr[order]
    levels = np.append(pts[:, 2], ref[2])
    volume = 0.0
    for i in range(len(pts)):
        depth = levels[i + 1] - levels[i]
        if depth > 0:
            volume += _hv2(pts[: i + 1, :2], ref[:2]) * depth
    return float(volume)


def plot_front(points: Points, front: Sequence[int], names: Sequence[str], path: str | Path, *,
               title: str | None = None, negate: Sequence[bool] = ()) -> Path:
    """Write a PNG (Agg backend) of every point with the front highlighted and joined.

    The first two objectives are the axes; a third, when given, colours the points.

    Args:
        points: (N, objectives) minimised values; front: indices of the front's points.
        names: axis labels, one per objective.
        negate: per objective, plot ``-value`` (a minimised ``-accuracy`` shown as accuracy).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arr = _as_array(points).copy()
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise UsageError("plotting a front needs at least two objectives")
    for j, flip in enumerate(negate):
        if flip:
            arr[:, j] = -arr[:, j]
    axis = list(names)
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    front_idx = np.asarray(list(front), dtype=int)
    colour = arr[:, 2] if arr.shape[1] >= 3 else None
    if colour is not None:
        sc = ax.scatter(arr[:, 0], arr[:, 1], c=colour, cmap="viridis", s=12, alpha=0.6, label="evaluated")
        fig.colorbar(sc, ax=ax, label=axis[2])
    else:
        ax.scatter(arr[:, 0], arr[:, 1], s=12, color="0.6", alpha=0.6, label="evaluated")
    if front_idx.size:
        fp = arr[front_idx]
        fp = fp[np.lexsort((fp[:, 1], fp[:, 0]))]
        ax.scatter(fp[:, 0], fp[:, 1], s=40, facecolors="none", edgecolors="crimson", linewidths=1.5,
                   label=f"Pareto front ({len(fp)})")
        if arr.shape[1] == 2:  # with a third objective the front is not a curve in this plane
            ax.plot(fp[:, 0], fp[:, 1], color="crimson", linewidth=1)
    ax.set_xlabel(axis[0])
    ax.set_ylabel(axis[1])
    ax.set_title(title or f"{len(arr)} evaluated, {front_idx.size} on the front")
    ax.legend(loc="best")
    ax.grid(True, alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
