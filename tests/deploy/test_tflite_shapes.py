"""The importer refuses models whose shapes or weight quantisation would make the kernels read or
write outside their tensors (issue: a dense-only model with one shape field changed was accepted
and its firmware wrote past the arena)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgenas.deploy.ir import Graph, QuantParams
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.errors import EdgenasError

from .test_tflite_ops import make_case


def _with_output_shape(graph: Graph, shape: tuple[int, ...]) -> Graph:
    out = graph.outputs[0]
    tensors = dict(graph.tensors)
    tensors[out] = dataclasses.replace(tensors[out], shape=shape)
    return Graph(tensors, graph.ops, graph.inputs, graph.outputs, name=graph.name)


def test_fully_connected_output_batch_must_follow_the_input() -> None:
    graph = make_case("fully_connected", 0)
    read_tflite(write_tflite(graph))
    units = graph.tensors[graph.outputs[0]].shape[-1]
    with pytest.raises(EdgenasError, match="rows of"):
        read_tflite(write_tflite(_with_output_shape(graph, (7, units))))


def test_fully_connected_over_two_rows_of_one_input_is_refused() -> None:
    """(1, 2 * depth) -> (2, units) keeps the row count, but `edgenas run` and the reference
    interpreter carry one batch row through the graph (the run ended in numpy's ValueError)."""
    graph = make_case("fully_connected", 0)
    depth, units = graph.tensors["w"].shape[1], graph.tensors["w"].shape[0]
    tensors = dict(graph.tensors)
    tensors[graph.inputs[0]] = dataclasses.replace(tensors[graph.inputs[0]], shape=(1, 2 * depth))
    tensors[graph.outputs[0]] = dataclasses.replace(tensors[graph.outputs[0]], shape=(2, units))
    with pytest.raises(EdgenasError, match=r"has shape \(2, \d+\); edgenas deploys batch-1 models"):
        read_tflite(write_tflite(Graph(tensors, graph.ops, graph.inputs, graph.outputs)))


@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d", "avg_pool2d"])
def test_spatial_output_must_follow_window_stride_and_padding(kind: str) -> None:
    for seed in range(10):
        graph = make_case(kind, seed)
        read_tflite(write_tflite(graph))
        n, h, w, c = graph.tensors[graph.outputs[0]].shape
        with pytest.raises(EdgenasError, match="does not follow"):
            read_tflite(write_tflite(_with_output_shape(graph, (n, h + 1, w, c))))


def test_conv_stride_that_leaves_the_output_unchanged_is_refused() -> None:
    """A stride-2 conv claiming the stride-1 output size."""
    graph = next(g for g in (make_case("conv2d", s) for s in range(40))
                 if g.ops[0].attrs["stride_h"] == 1 and g.tensors[g.inputs[0]].shape[1] > 2)
    op = graph.ops[0]
    op.attrs = {**op.attrs, "stride_h": 2}
    with pytest.raises(EdgenasError, match="does not follow"):
        read_tflite(write_tflite(graph))


def test_pooling_must_keep_the_channels() -> None:
    graph = make_case("avg_pool2d", 0)
    n, h, w, c = graph.tensors[graph.outputs[0]].shape
    with pytest.raises(EdgenasError, match="channels"):
        read_tflite(write_tflite(_with_output_shape(graph, (n, h, w, c + 1))))


def test_mean_output_must_match_the_reduced_shape() -> None:
    graph = make_case("mean", 0)
    shape = graph.tensors[graph.outputs[0]].shape
    with pytest.raises(EdgenasError, match="reduces"):
        read_tflite(write_tflite(_with_output_shape(graph, (*shape[:-1], shape[-1] + 2))))


@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d", "fully_connected"])
def test_per_tensor_weights_with_a_zero_point_are_refused(kind: str) -> None:
    graph = next(g for g in (make_case(kind, s) for s in range(40)) if not g.tensors["w"].quant.per_channel)
    read_tflite(write_tflite(graph))  # symmetric per-tensor weights are fine
    tensors = dict(graph.tensors)
    tensors["w"] = dataclasses.replace(tensors["w"], quant=QuantParams(tensors["w"].quant.scale, (5,)))
    with pytest.raises(EdgenasError, match="symmetric"):
        read_tflite(write_tflite(Graph(tensors, graph.ops, graph.inputs, graph.outputs)))
    assert np.all(np.asarray(graph.tensors["w"].quant.zero_point) == 0)
