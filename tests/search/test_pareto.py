import numpy as np
import pytest

from edgenas.errors import UsageError
from edgenas.search.pareto import dominates, hypervolume, non_dominated_sort, pareto_front, plot_front


def test_dominance_needs_one_strict_improvement():
    assert dominates((1, 2), (2, 2)) and not dominates((2, 2), (1, 2))
    assert not dominates((1, 2), (1, 2))  # equal points do not dominate each other
    assert not dominates((1, 3), (2, 2))


def test_non_dominated_sort_by_hand():
    pts = [(1, 5), (2, 2), (5, 1), (3, 3), (2, 2), (4, 4), (6, 6)]
    fronts = non_dominated_sort(pts)
    assert fronts == [[0, 1, 2, 4], [3], [5], [6]]  # the duplicate (2, 2) shares the first front
    assert pareto_front(pts) == [0, 1, 2, 4]
    assert non_dominated_sort([]) == [] and pareto_front(np.zeros((0, 2))) == []


@pytest.mark.parametrize("m", [2, 3])
def test_fronts_partition_and_are_mutually_non_dominated(m):
    pts = np.random.default_rng(m).random((120, m))
    fronts = non_dominated_sort(pts)
    assert sorted(i for f in fronts for i in f) == list(range(120))
    for k, front in enumerate(fronts):
        rest = [i for f in fronts[k:] for i in f]
        for i in front:
            assert not any(dominates(pts[j], pts[i]) for j in rest)
        if k:  # every later point is dominated by something in an earlier front
            assert all(any(dominates(pts[j], pts[i]) for j in fronts[k - 1]) for i in front)


def test_hypervolume_by_hand_2d():
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (4, 4)) == 6.0  # strips 3 + 2 + 1
    assert hypervolume([(1, 3), (2, 2), (3, 1), (3, 3), (2, 2)], (4, 4)) == 6.0  # dominated and duplicate points add nothing
    assert hypervolume([(1, 3), (5, 0)], (4, 4)) == 3.0  # a point outside the reference box adds nothing
    assert hypervolume([], (1, 1)) == 0.0
    assert hypervolume([(0.5,)], (2,)) == 1.5


def test_hypervolume_by_hand_3d():
    assert hypervolume([(0, 0, 0)], (1, 2, 3)) == 6.0
    # boxes of volume 4 and 2 overlapping in a unit cube
    assert hypervolume([(0, 0, 1), (1, 1, 0)], (2, 2, 2)) == 5.0
    # three 3x1x1 bars meeting in the corner cube [2,3]^3: inclusion-exclusion 3*3 - 3*1 + 1
    pts = [(0, 2, 2), (2, 0, 2), (2, 2, 0)]
    assert hypervolume(pts, (3, 3, 3)) == 3 * 3 - 3 * 1 + 1


@pytest.mark.parametrize("m", [2, 3])
def test_hypervolume_matches_monte_carlo(m):
    rng = np.random.default_rng(10 + m)
    pts = rng.random((40, m))
    ref = np.full(m, 1.1)
    exact = hypervolume(pts, ref)
    samples = rng.random((200_000, m)) * ref
    front = pts[pareto_front(pts)]
    covered = np.zeros(len(samples), dtype=bool)
    for p in front:
        covered |= np.all(samples >= p, axis=1)
    estimate = covered.mean() * np.prod(ref)
    sigma = np.prod(ref) * np.sqrt(covered.mean() * (1 - covered.mean()) / len(samples))
    assert abs(exact - estimate) < 4 * sigma
    assert hypervolume(front, ref) == pytest.approx(exact, rel=1e-12)  # the front alone carries all of it


def test_hypervolume_rejects_bad_shapes():
    with pytest.raises(UsageError):
        hypervolume([(1, 2, 3, 4)], (5, 5, 5, 5))
    with pytest.raises(UsageError):
        hypervolume([(1, 2)], (5, 5, 5))


@pytest.mark.parametrize("m", [2, 3])
@pytest.mark.slow
def test_plot_front_writes_a_png(tmp_path, m):
    pts = np.random.default_rng(0).random((30, m))
    pts[:, 0] = -pts[:, 0]
    path = plot_front(pts, pareto_front(pts), ["accuracy", "latency", "ram"][:m], tmp_path / "f" / "p.png",
                      negate=[True] + [False] * (m - 1))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
