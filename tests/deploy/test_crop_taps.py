import numpy as np
import pytest

from edgenas.deploy import run_reference
from edgenas.deploy.crop_taps import crop_dead_taps, cropped_kernel
from edgenas.profile.graphs import random_arch_graph
from edgenas.space import Arch, get_space

# r24: stage 3's first 7x7 runs on a 3x3 map at stride 2 (5x5 kept); the 7x7s and the 5x5 after it
# run on 2x2 maps (3x3 kept)
ARCH = "r24|w0.5|k3e3,k3e3|k5e4,k3e3|k7e6,k7e3|k7e3,k5e3"


@pytest.mark.parametrize(("size", "kernel", "stride", "kept"), [
    (3, 7, 1, 5), (2, 7, 1, 3), (1, 7, 1, 1), (2, 5, 1, 3), (3, 7, 2, 5), (2, 7, 2, 3),
    (3, 5, 1, 5), (4, 7, 2, 7), (5, 7, 2, 7), (12, 7, 1, 7), (1, 3, 1, 1), (24, 3, 2, 3),
])
def test_cropped_kernel_keeps_every_tap_that_reaches_the_image(size, kernel, stride, kept):
    assert cropped_kernel(size, kernel, stride) == kept


def test_cropped_graph_gives_the_same_int8_outputs_with_smaller_filters():
    spec = get_space("mcu-mbv2")
    graph = random_arch_graph(spec, Arch.parse(ARCH).validate(spec), seed=4)
    before = {n: t.shape for n, t in graph.tensors.items()}
    cropped = crop_dead_taps(graph)
    assert {n: t.shape for n, t in graph.tensors.items()} == before  # the input graph is untouched
    shrunk = sorted(before[n][1:3] + cropped.tensors[n].shape[1:3] for n in before if cropped.tensors[n].shape != before[n])
    assert shrunk == [(5, 5, 3, 3), (7, 7, 3, 3), (7, 7, 3, 3), (7, 7, 5, 5)]
    shape = graph.tensor(graph.inputs[0]).shape
    x = np.random.default_rng(0).integers(-128, 128, size=(4, *shape[1:]), dtype=np.int8)
    np.testing.assert_array_equal(run_reference(cropped, x), run_reference(graph, x))
