"""Training mirrors images left-right only where the data says a mirror keeps the label: keyword
log-mel images (``mirror_safe`` False) have frequencies along their columns, and flipping them
cost DS-CNN-S 12 points (76.7 -> 64.9 %); the supernet and its subnets' training must not."""

from __future__ import annotations

from dataclasses import replace

import pytest

import edgenas.data.batches as batches
import edgenas.supernet.train as train_module
from edgenas.data import make_synthetic
from edgenas.space import get_space, largest_arch
from edgenas.supernet import OFASupernet, Phase, TrainConfig, extract_subnet, finetune_subnet, train_supernet

CONFIG = TrainConfig(phases=(Phase("full", 1, 0.1),), batch_size=16, seed=1, max_steps_per_epoch=2, threads=1,
                     eval_images=16)


def _spy(monkeypatch, module) -> list[bool]:
    seen: list[bool] = []
    real = batches.draw_affine

    def draw_affine(n, generator, shift=0.1, flip=True):  # noqa: ANN001, ANN202
        seen.append(flip)
        return real(n, generator, shift, flip)

    monkeypatch.setattr(module, "draw_affine", draw_affine)
    return seen


@pytest.mark.parametrize("mirror_safe", [True, False])
@pytest.mark.slow
def test_supernet_training_flips_only_mirror_safe_data(tmp_path, monkeypatch, mirror_safe):
    seen = _spy(monkeypatch, train_module)
    data = replace(make_synthetic(seed=0, n_train=32, n_val=16, n_test=16), mirror_safe=mirror_safe)
    train_supernet(data, get_space("tiny-test"), tmp_path / "run", CONFIG)
    assert seen and set(seen) == {mirror_safe}


@pytest.mark.parametrize("mirror_safe", [True, False])
def test_subnet_finetuning_flips_only_mirror_safe_data(monkeypatch, mirror_safe):
    seen = _spy(monkeypatch, batches)
    spec = get_space("tiny-test")
    data = replace(make_synthetic(seed=0, n_train=32, n_val=16, n_test=16), mirror_safe=mirror_safe)
    arch = largest_arch(spec)
    net = OFASupernet(spec)
    finetune_subnet(net, extract_subnet(net, arch), arch, data, epochs=1, batch_size=16, max_steps_per_epoch=2)
    assert seen and set(seen) == {mirror_safe}
