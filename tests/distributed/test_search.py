"""``search --estimator inherited`` on workers: the same store as a serial search, batch by batch."""

from __future__ import annotations

import pytest

from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.cost import CostModel
from edgenas.distributed import RayPool, SerialPool
from edgenas.estimate import EstimatorContext, get_estimator
from edgenas.search.evolution import EvolutionConfig
from edgenas.search.loop import search_loop
from edgenas.store import ResultsStore
from edgenas.torch_threads import torch_threads

pytestmark = pytest.mark.timeout(240)


def _search(tiny_supernet, pool, store):
    directory, net, data = tiny_supernet
    context = EstimatorContext(net.spec, supernet_dir=directory, pool=pool).preload(supernet=(net, {}), data=data)
    watched: list[dict[str, str]] = []
    context.watch = watched.append
    with torch_threads(1):
        result = search_loop(CostModel(net.spec), get_estimator("inherited", context), strategy="evolution",
                             config=EvolutionConfig(population=6), budget=12, seed=1, store=store)
    return result, watched


@pytest.mark.slow
def test_measured_search_on_two_workers_stores_what_a_serial_search_stores(ray_cluster, tiny_supernet, tmp_path):
    serial, _ = _search(tiny_supernet, SerialPool(), tmp_path / "serial.db")
    with RayPool(2) as pool:
        parallel, watched = _search(tiny_supernet, pool, tmp_path / "ray.db")
    key = [(t.seq, t.arch, t.fitness, t.feasible) for t in serial.trials]
    assert [(t.seq, t.arch, t.fitness, t.feasible) for t in parallel.trials] == key
    with ResultsStore(tmp_path / "ray.db") as store:
        stored = store.trials(store.get_run(parallel.run))
    assert [(t.seq, t.arch, t.fitness) for t in stored] == [k[:3] for k in key]
    assert serial.evaluated == parallel.evaluated == 12
    assert any(sum(1 for label in w.values() if label) == 2 for w in watched)  # both workers measured at once


def test_extract_takes_workers_only_for_measured_fitness(tmp_path):
    result = CliRunner().invoke(app, ["extract", "--target", "cortex-m7", "--ram", "64KB", "--workers", "2",
                                      "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--fitness measured only" in " ".join(result.stderr.split())
    assert not (tmp_path / "x").exists()
