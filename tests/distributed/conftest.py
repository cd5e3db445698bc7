"""A local Ray cluster of 2 CPUs shared by the distributed tests, shut down at the end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def ray_cluster():
    ray = pytest.importorskip("ray")
    # Workers import the test jobs (tests.distributed.jobs) by name: they start in the cluster's
    # environment, which the driver's sets.
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), old) if p)
    from edgenas.distributed.cluster import LOCAL_CLUSTER_CONFIG

    # The product's local-cluster settings: workers at the test run's niceness, not Ray's +15 (under
    # which a busy machine starved them past the tests' timeouts).
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _system_config=dict(LOCAL_CLUSTER_CONFIG))
    try:
        yield ray
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@pytest.fixture(scope="package")
def tiny_supernet(tmp_path_factory):
    """A tiny supernet trained for a few steps on synthetic data, saved (for the CLI) and loaded."""
    from edgenas.data import make_synthetic
    from edgenas.space import get_space
    from edgenas.supernet import Phase, TrainConfig, load_supernet, train_supernet
    from edgenas.torch_threads import torch_threads

    phases = (Phase("full", 1, 0.1), Phase("kernel", 1, 0.03), Phase("depth", 1, 0.02, 2), Phase("expand", 1, 0.02, 2))
    directory = tmp_path_factory.mktemp("supernet")
    data = make_synthetic(seed=0)
    with torch_threads(1):
        config = TrainConfig(phases=phases, batch_size=32, seed=0, max_steps_per_epoch=3, threads=1, eval_images=32)
        train_supernet(data, get_space("tiny-test"), directory, config)
    net, _ = load_supernet(directory)
    return directory, net, data
