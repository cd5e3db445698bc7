"""The hand-designed keyword-spotting reference: a DS-CNN-S-shaped net (ARM's "Hello Edge" DS-CNN
small, the model of MLPerf Tiny's keyword-spotting task), trained and quantized here so a searched
subnet is compared with it on the same split.

Shape: a 10x4 conv with stride 2 and 64 channels, four depthwise-separable blocks of 64 (3x3
depthwise, 1x1 pointwise, each with batch norm and ReLU), global average pooling and one fully
connected layer. It reads the features at their own size (49 frames x 40 mel bins, where the
original reads 49 x 10 MFCCs), with TFLite's SAME padding so its int8 graph computes what the
float net computed. Training follows the scratch recipe of ``supernet.subnet_training`` (SGD with
Nesterov momentum, cosine decay, label smoothing, random shifts; mirroring only where it keeps the
label) for a fixed number of epochs.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, ImageSet, augmented_epoch, to_device
from ..deploy.ir import Graph, Op, QuantParams
from ..deploy.quantize import INPUT_QUANT, Calibration, GraphBuilder, LayerParams, activation_quant
from ..deploy.rounding import dequantized_adaptive
from ..space import same_out
from ..space import same_padding
from ..supernet.evaluate import accuracy
from ..torch_threads import DETERMINISTIC_THREADS, torch_threads


class ConvBNReLU(nn.Module):
    """Conv (SAME padding, possibly asymmetric, as TFLite pads) + batch norm + ReLU."""

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = same_padding(x.shape[-2], self.kernel[0], self.stride)
        left, right = same_padding(x.shape[-1], self.kernel[1], self.stride)
        return F.relu(self.bn(self.conv(F.pad(x, (left, right, top, bottom)))))

    def folded(self) -> LayerParams:
        """Weights ``(O, I/groups, KH, KW)`` and bias with the batch norm folded in (eval statistics)."""
        gain = (self.bn.weight / torch.sqrt(self.bn.running_var + self.bn.eps)).detach()
        weight = self.conv.weight.detach() * gain[:, None, None, None]
        bias = self.bn.bias.detach() - self.bn.running_mean * gain
        return LayerParams(weight.double().numpy(), bias.double().numpy(), self.stride, self.conv.groups > 1)


class DSCNN(nn.Module):
    """DS-CNN-S: ``(N, C, H, W)`` features → ``(N, classes)`` logits."""

    def __init__(self, in_channels: int, num_classes: int, channels: int = 64, blocks: int = 4,
                 first_kernel: tuple[int, int] = (10, 4), first_stride: int = 2) -> None:
        super().__init__()
        self.first = ConvBNReLU(in_channels, channels, first_kernel, first_stride)
        self.blocks = nn.ModuleList(
            nn.ModuleList([ConvBNReLU(channels, channels, (3, 3), groups=channels),
                           ConvBNReLU(channels, channels, (1, 1))]) for _ in range(blocks))
        self.classifier = nn.Linear(channels, num_classes)

    def layers(self) -> list[tuple[str, ConvBNReLU]]:
        """The conv layers in execution order, with the names their int8 tensors get."""
        out = [("conv1", self.first)]
        for i, (dw, pw) in enumerate(self.blocks):
            out += [(f"b{i}.dw", dw), (f"b{i}.pw", pw)]
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _name, layer in self.layers():
            x = layer(x)
        return self.classifier(x.mean((2, 3)))


@dataclass(frozen=True)
class DSCNNResult:
    """What the baseline reached (float and, when quantized, int8 on the host build) and cost."""

    name: str
    val_acc: float
    test_acc: float
    int8_test_acc: float | None
    epochs: int
    seconds: float
    params: int
    macs: int
    recipe: str
    int8_predictions: np.ndarray | None = field(default=None, repr=False)
    """The int8 build's class per test image (for a paired comparison with another model)."""

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "int8_predictions"}


def dscnn_macs(in_shape: tuple[int, int, int], num_classes: int, channels: int = 64, blocks: int = 4) -> int:
    """Multiply-accumulates of one inference on ``(H, W, C)`` input (the 10x4 stride-2 first layer)."""
    h, w, c = in_shape
    oh, ow = same_out(h, 2), same_out(w, 2)
    first = oh * ow * channels * 10 * 4 * c
    block = oh * ow * channels * (9 + channels)
    return first + blocks * block + channels * num_classes


def train_dscnn(data: DataSplits, *, epochs: int, seed: int = 0, lr: float = 0.1, batch_size: int = 128,
                weight_decay: float = 4e-5, label_smoothing: float = 0.1, flip: bool | None = None) -> DSCNN:
    """A fresh :class:`DSCNN` trained ``epochs`` on ``data.train`` at the images' own size (eval mode).

    ``flip`` mirrors images left-right as the vision recipe does; by default only when the data says
    mirroring keeps the label (``DataSplits.mirror_safe``: not for log-mel images, whose columns are
    frequencies)."""
    torch.manual_seed(seed)
    model = DSCNN(data.in_channels, data.num_classes)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=lr, momentum=0.9, nesterov=True)
    steps = math.ceil(len(data.train) / batch_size)
    images, labels = to_device(data.train, "cpu")
    size = data.image_size
    flip = data.mirror_safe if flip is None else flip
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        shuffle = torch.Generator().manual_seed(int(rng.integers(2**62)))
        aug = torch.Generator().manual_seed(int(rng.integers(2**62)))
        model.train()
        batches = augmented_epoch(images, labels, batch_size, size, shuffle_generator=shuffle, augment_generator=aug,
                                  flip=flip)
        for step, (x, y) in enumerate(batches):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * (epoch * steps + step) / (epochs * steps)))
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y, label_smoothing=label_smoothing).backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
@torch_threads(DETERMINISTIC_THREADS)
def dscnn_int8_graph(model: DSCNN, calibration: ImageSet, count: int = 512) -> Graph:
    """The int8 graph of a trained :class:`DSCNN` (TFLite's scheme, as ``deploy.quantize`` builds a
    subnet's): per-channel weights with batch norm folded and rounded adaptively, activation
    ranges from the first ``count`` calibration images (training images, never the test split),
    input ``u8 - 128``."""
    model.eval()
    seen = Calibration()
    named = [*model.layers(), ("logits", model.classifier)]
    hooks = [seen.watch_output(name, m) for name, m in named]
    hooks += [seen.watch_input(name, layer.conv) for name, layer in model.layers()]
    try:
        for start in range(0, min(count, len(calibration)), 128):
            stop = min(start + 128, count, len(calibration))
            model(torch.from_numpy(calibration.x[start:stop]).permute(0, 3, 1, 2).float().div_(255.0))
    finally:
        for hook in hooks:
            hook.remove()
    lo, hi = seen.lo, seen.hi

    g = GraphBuilder()
    h, w, c = calibration.x.shape[1:]
    x = g.activation("input", (1, h, w, c), INPUT_QUANT)
    for name, layer in model.layers():
        params = layer.folded()
        params = replace(params, weight=dequantized_adaptive(params.weight, seen.moment(name)))
        x = g.conv(name, x, params, activation_quant(lo[name], hi[name]), "relu")
    _, ph, pw, ch = g.tensors[x].shape
    pooled = g.activation("pool", (1, 1, 1, ch), g.tensors[x].quant)
    g.ops.append(Op("avg_pool2d", [x], [pooled], {"filter_h": ph, "filter_w": pw, "stride_h": 1, "stride_w": 1,
                                                  "padding": "valid", "activation": "none"}, "pool"))
    flat = g.activation("flatten", (1, ch), g.tensors[x].quant)
    g.ops.append(Op("reshape", [pooled, g.const("flatten.shape", np.asarray([1, ch]), "int32")], [flat],
                    {"new_shape": (1, ch)}, "flatten"))
    fc_w = model.classifier.weight.double().numpy()
    fc_b = model.classifier.bias.double().numpy()
    w_scale = float(np.float32((float(np.abs(fc_w).max()) or 1e-8) / 127.0))
    b_scale = float(np.float32(g.tensors[flat].quant.scale[0]) * np.float32(w_scale))
    wq = g.const("logits.weight", np.clip(np.round(fc_w / w_scale), -127, 127).astype(np.int8), "int8",
                 QuantParams((w_scale,), (0,)))
    bq = g.const("logits.bias", np.round(fc_b / b_scale).astype(np.int32), "int32", QuantParams((b_scale,), (0,)))
    logits = g.activation("logits", (1, fc_w.shape[0]), activation_quant(lo["logits"], hi["logits"]))
    g.ops.append(Op("fully_connected", [flat, wq, bq], [logits], {"activation": "none"}, "logits"))
    graph = Graph(g.tensors, g.ops, ["input"], [logits], name="ds-cnn-s")
    graph.validate()
    return graph


def int8_predictions(graph: Graph, images: np.ndarray, work_dir: Path) -> np.ndarray:
    """The class ``graph`` gives each uint8 ``(N, H, W, C)`` image, computed by the compiled C model
    on this machine (the code the firmware runs) on inputs ``u8 - 128``."""
    from ..deploy import build_host, compile_graph

    compile_graph(graph, work_dir)
    return build_host(work_dir).run((images.astype(np.int16) - 128).astype(np.int8)).argmax(1)


def dscnn_baseline(data: DataSplits, *, epochs: int, seed: int = 0, work_dir: Path | None = None,
                   flip: bool | None = None, batch_size: int = 128) -> DSCNNResult:
    """Train :class:`DSCNN` on ``data`` and measure it: float val/test, and int8 test accuracy on
    the host build when ``work_dir`` is given (the compiled C sources go there)."""
    start = time.perf_counter()
    flip = data.mirror_safe if flip is None else flip
    model = train_dscnn(data, epochs=epochs, seed=seed, flip=flip, batch_size=batch_size)
    predictions = None
    if work_dir is not None:
        predictions = int8_predictions(dscnn_int8_graph(model, data.train), data.test.x, Path(work_dir))
    h, w = data.image_size
    return DSCNNResult(
        "DS-CNN-S", accuracy(model, data.val, None), accuracy(model, data.test, None),
        None if predictions is None else float(np.mean(predictions == data.test.y)), epochs,
        round(time.perf_counter() - start, 2), sum(p.numel() for p in model.parameters()),
        dscnn_macs((h, w, data.in_channels), data.num_classes),
        f"conv 10x4/2 x64, 4 DS blocks x64, avg pool, FC; SGD Nesterov lr 0.1 cosine, label smoothing 0.1, "
        f"shift +-10%{', flip' if flip else ''}, batch {batch_size}, {epochs} epochs, seed {seed}",
        predictions,
    )
