"""The DS-CNN-S keyword baseline: its shape, SAME padding like TFLite, and an int8 graph whose
compiled C model agrees with the float net it came from."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgenas.data import DataSplits, ImageSet
from edgenas.estimate.dscnn import DSCNN, dscnn_baseline, dscnn_int8_graph, dscnn_macs, train_dscnn


def _splits(n: int = 24, seed: int = 0) -> DataSplits:
    """Three classes of 49 x 40 'spectrograms' told apart by texture (what a net ending in global
    average pooling sees): stripes along time, stripes along mel bins, plain noise."""
    rng = np.random.default_rng(seed)

    def part(count: int) -> ImageSet:
        y = rng.integers(0, 3, count)
        x = rng.integers(0, 60, (count, 49, 40, 1)).astype(np.uint8)
        x[y == 0, ::4] = 220
        x[y == 1, :, ::4] = 220
        return ImageSet(x, y.astype(np.int64))

    return DataSplits("bands", part(n), part(12), part(12), ("a", "b", "c"), mirror_safe=False)


def test_shape_follows_ds_cnn_s():
    model = DSCNN(1, 12)
    assert model(torch.zeros(2, 1, 49, 40)).shape == (2, 12)
    first = model.first.conv
    assert first.kernel_size == (10, 4) and first.stride == (2, 2) and first.out_channels == 64
    assert len(model.blocks) == 4 and all(dw.conv.groups == 64 for dw, _pw in model.blocks)
    assert dscnn_macs((49, 40, 1), 12) == 25 * 20 * 64 * (40 + 4 * 73) + 64 * 12


@pytest.mark.board  # compiles the C model with gcc
def test_int8_graph_runs_in_c_and_agrees_with_the_float_net(tmp_path):
    data = _splits()
    model = train_dscnn(data, epochs=2, seed=0)
    graph = dscnn_int8_graph(model, data.train)
    assert graph.tensor("conv1").shape == (1, 25, 20, 64)
    from edgenas.deploy import build_host, compile_graph

    compile_graph(graph, tmp_path / "c")
    logits = build_host(tmp_path / "c").run((data.test.x.astype(np.int16) - 128).astype(np.int8))
    with torch.no_grad():
        float_pred = model(torch.from_numpy(data.test.x).permute(0, 3, 1, 2).float() / 255).argmax(1).numpy()
    assert np.mean(logits.argmax(1) == float_pred) >= 0.9


@pytest.mark.slow
def test_baseline_learns_an_easy_task_and_reports_its_recipe():
    result = dscnn_baseline(_splits(n=64), epochs=10, seed=0, batch_size=16)
    assert result.val_acc > 0.6 and result.int8_test_acc is None and "flip" not in result.recipe
    assert result.params == sum(p.numel() for p in DSCNN(1, 3).parameters())
