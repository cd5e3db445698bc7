import pytest

from edgenas.torch_threads import torch_threads


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets run fastest on one thread, above all on a shared CPU."""
    with torch_threads(1):
        yield
