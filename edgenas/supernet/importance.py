"""Reorder each block's hidden channels by importance, so narrow subnets keep the best ones.

Once-for-All sorts before training the elastic expand ratio: importance of hidden channel ``c``
is the L1 norm of the projection weights reading it. The permutation is applied consistently to
the expand conv (rows), its BN, every kernel size's depthwise conv and BN, and the projection (columns), so
the network computes exactly the same function afterwards.
"""

from __future__ import annotations

import torch

from .elastic_bn import ElasticBatchNorm
from .mbconv import ElasticMBConv
from .ofa import OFASupernet


def _permute_bn(bn: ElasticBatchNorm, order: torch.Tensor) -> None:
    for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        tensor.data.copy_(tensor.data[order])


@torch.no_grad()
def permute_hidden(module: ElasticMBConv, order: torch.Tensor) -> None:
    """Hidden channel ``i`` becomes the old channel ``order[i]`` everywhere it lives: expand conv
    rows and BN, every kernel size's depthwise conv and BN, projection columns. The block
    computes the same function afterwards."""
    module.expand.weight.data.copy_(module.expand.weight.data[order])
    _permute_bn(module.expand_bn, order)
    for weight in module.depthwise.weights.values():
        weight.data.copy_(weight.data[order])
    for bn in module.depthwise_bn.values():
        _permute_bn(bn, order)
    module.project.weight.data.copy_(module.project.weight.data[:, order])


@torch.no_grad()
def sort_hidden_channels(net: OFASupernet) -> None:
    """Sort every ``ElasticMBConv``'s hidden channels by descending importance, in place."""
    for module in net.modules():
        if isinstance(module, ElasticMBConv):
            importance = module.project.weight.abs().sum(dim=(0, 2, 3))
            permute_hidden(module, torch.argsort(importance, descending=True, stable=True))
