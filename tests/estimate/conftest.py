import pytest

from edgenas.data import make_synthetic
from edgenas.space import get_space
from edgenas.supernet import Phase, TrainConfig, load_supernet, train_supernet
from edgenas.torch_threads import torch_threads

TINY_PHASES = (Phase("full", 1, 0.1), Phase("kernel", 1, 0.03), Phase("depth", 1, 0.02, 2), Phase("expand", 1, 0.02, 2))


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run fastest on one thread, above all on a shared CPU."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def tiny_supernet_dir(tmp_path_factory):
    """A supernet of the tiny-test space, a few steps trained on synthetic data: ``(folder, data)``."""
    data = make_synthetic(seed=0)
    directory = tmp_path_factory.mktemp("sn")
    config = TrainConfig(phases=TINY_PHASES, batch_size=32, seed=0, max_steps_per_epoch=3, threads=1, eval_images=32)
    with torch_threads(1):
        train_supernet(data, get_space("tiny-test"), directory, config)
    return directory, data


@pytest.fixture
def tiny_supernet(tiny_supernet_dir):
    """``(net, data)`` of :func:`tiny_supernet_dir`, loaded afresh (tests may change BN statistics)."""
    directory, data = tiny_supernet_dir
    return load_supernet(directory)[0], data
