"""The OFA supernet run as a DARTS mixed network: every slot outputs a weighted sum of its candidates.

All candidates use the supernet's shared weights, exactly as the elastic subnet of that choice
would (slices of the expand, depthwise and project convs). Because the expand conv, the depthwise
conv and their batch norms act channel by channel, the expand output is computed once at the
largest hidden width and each kernel's depthwise output once, then sliced per expand ratio; only
the projection runs per candidate. For one-hot weights the output equals ``OFASupernet`` with that
arch active (a test checks it).

Residual slots: ``x + sum_c w_c f_c(x)`` is ``sum_c w_c (x + f_c(x)) + w_skip x`` when the weights
sum to 1 (softmax and Gumbel-softmax both do), so ``skip`` adds no computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...supernet import OFASupernet
from .slots import Slot, build_slots


class MixedSupernet(nn.Module):
    """``OFASupernet`` + architecture logits (one vector per slot) at a fixed resolution and width.

    Args:
        net: the supernet whose weights are shared (trained further by the search).
        resolution, width: fixed for the whole search.
        generator: draws the initial logits (``1e-3 * N(0, 1)`` as in DARTS).
    """

    def __init__(self, net: OFASupernet, resolution: int, width: float, generator: torch.Generator) -> None:
        super().__init__()
        self.net = net
        self.spec = net.spec
        self.resolution = resolution
        self.width = width
        self.plan, self.slots = build_slots(net.spec, resolution, width)
        self.alphas = nn.ParameterList(
            nn.Parameter(1e-3 * torch.randn(len(s.candidates), generator=generator)) for s in self.slots
        )

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.net.parameters())

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas)

    def candidate_weights(self, *, gumbel: bool = False, tau: float = 1.0,
                          generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """Per-slot softmax of the logits, or a Gumbel-softmax sample (noise from ``generator``)."""
        out = []
        for alpha in self.alphas:
            if gumbel:
                u = torch.rand(alpha.shape, generator=generator).clamp_(1e-9, 1 - 1e-9)
                out.append(F.softmax((alpha - torch.log(-torch.log(u)).to(alpha.device)) / tau, dim=-1))
            else:
                out.append(F.softmax(alpha, dim=-1))
        return out

    def _slot(self, x: torch.Tensor, slot: Slot, w: torch.Tensor) -> torch.Tensor:
        block = self.net.stages[slot.stage][slot.index]
        spec = self.spec
        mids = slot.mid_channels
        h = F.relu6(block.expand_bn(block.expand(x, max(mids))))
        n_e = len(spec.expands)
        mixed = None
        for ki, k in enumerate(spec.kernels):
            d = F.relu6(block.depthwise_bn(block.depthwise(h, k), k))
            for ei, mid in enumerate(mids):
                y = block.project_bn(block.project(d[:, :mid], slot.out_channels))
                term = w[ki * n_e + ei] * y
                mixed = term if mixed is None else mixed + term
        assert mixed is not None
        return x + mixed if slot.residual else mixed

    def forward(self, x: torch.Tensor, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits ``(N, classes)`` of ``(N, C, resolution, resolution)`` images under per-slot ``weights``."""
        net, plan = self.net, self.plan
        x = F.relu6(net.stem_bn(net.stem(x, plan.stem_channels)))
        x = F.relu6(net.first_dw_bn(net.first_dw(x, 3)))
        x = net.first_pw_bn(net.first_pw(x, plan.first_channels))
        for slot, w in zip(self.slots, weights):
            x = self._slot(x, slot, w.to(x.device))
        x = F.relu6(net.head_bn(net.head(x, plan.head_channels)))
        return net.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
