"""Augmented batches at an image's own (H, W) size, with and without the horizontal flip (a keyword
net reads 49 x 40 log-mel images, whose columns are frequencies and must not be mirrored)."""

from __future__ import annotations

import torch

from edgenas.data.batches import augmented_epoch


def _epoch(images, flip):
    labels = torch.arange(images.shape[0])
    gens = (torch.Generator().manual_seed(1), torch.Generator().manual_seed(2))
    return list(augmented_epoch(images, labels, 4, (49, 40), shuffle_generator=gens[0], augment_generator=gens[1],
                                flip=flip))


def test_non_square_batches_keep_the_size_and_flip_false_never_mirrors():
    # Columns rise left to right: a mirrored image would have them falling.
    images = torch.arange(40, dtype=torch.uint8).mul(6).expand(16, 49, 40)[..., None].contiguous()
    for x, _ in _epoch(images, flip=False):
        assert x.shape == (4, 1, 49, 40)
        assert (x[:, 0, 20, 30] >= x[:, 0, 20, 10]).all()
    mirrored = sum(int((x[:, 0, 20, 30] < x[:, 0, 20, 10]).sum()) for x, _ in _epoch(images, flip=True))
    assert mirrored > 0


def test_training_resampling_of_log_mel_images_matches_the_deployed_resize():
    """Training resamples a 49 x 40 image to the subnet's square resolution with grid_sample
    (shift 0 here), evaluation and the int8 inputs with interpolate: the same pixels either way."""
    from edgenas.data.batches import resize, warp

    x = torch.rand(3, 1, 49, 40, generator=torch.Generator().manual_seed(0))
    identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(3, 2, 3)
    for r in (24, 32, 48):
        assert torch.allclose(warp(x, identity, r), resize(x, r), atol=1e-5)
