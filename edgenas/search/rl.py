"""Reinforcement-learning search: an LSTM controller trained with REINFORCE (NASNet/ENAS/MnasNet).

The controller emits the space's decisions one at a time (:mod:`edgenas.search.decisions`:
resolution, width, per stage a depth and a kernel + expand per block slot); each step feeds the
embedding of the previous choice into an ``LSTMCell`` and a per-decision linear head gives the
logits (ENAS's ``tanh_constant * tanh(logits / temperature)`` keeps them bounded). Slots beyond a
stage's depth are sampled, because the sequence has a fixed length, but masked out of log-probs and
entropy: they do not shape the arch, so they get no credit.

Reward (MnasNet's soft constraint): ``fitness * (1 + violation) ** penalty_exponent``, with
``violation`` the loop's sum of relative constraint excesses (0 when feasible). MnasNet uses
``(latency / target) ** w`` with w = -0.07 for a soft target; here the default is **-0.5**, because
the fitness spread across a space is small (a few accuracy points), so -0.07 would make a subnet
twice over budget lose only 5% — less than the spread, and the controller would settle outside the
budget. With -0.5, 10% over costs ~5% and 2x over ~29%. When the loop supplies ``repair``, sampled
archs are repaired before they are returned and the reward of the repaired arch is credited to the
sampled decisions (the repair is part of the environment, so the gradient is still on-policy).

Update (``tell``): loss = -mean((R - b) / rms * log p(decisions)) - entropy_weight * mean(entropy),
with ``b`` an exponential moving average of rewards (the baseline) and ``rms`` a moving RMS of
past advantages, floored at ``min_reward_scale``: Adam alone is scale-free, but the balance
against the entropy bonus is not, and accuracy differences of a point would otherwise be drowned
by it. The floor matters once the policy concentrates: the RMS then shrinks with the reward
differences, and dividing by it alone would blow noise-level differences up into full-size steps
that finish the collapse (seen on a 41k-arch space, bench/strategies.py).

Randomness: one ``torch.Generator`` seeded by ``seed`` (initial weights and sampling), CPU, one
torch thread inside ``ask``/``tell``; the same seed and the same scores repeat exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from ..space import Arch, SpaceSpec
from ..torch_threads import torch_threads
from .decisions import active_mask, decisions, decode, encode
from .registry import register_strategy
from .strategy import Repair, Score, keep_best
from .strategy_config import coerce_config


@dataclass(frozen=True)
class RLConfig:
    """Controller size and REINFORCE settings (ENAS: hidden 64-100, tanh 2.5, baseline decay 0.99).

    Attributes:
        population: archs per ``ask()`` (one REINFORCE batch).
        hidden: LSTM and embedding width.
        lr: Adam step.
        baseline_decay: moving-average decay of the reward baseline (per reward).
        entropy_weight: entropy bonus against early collapse onto one arch.
        penalty_exponent: ``w`` in ``fitness * (1 + violation) ** w`` (see the module docstring).
        temperature, tanh_constant: logit shaping (ENAS).
        use_repair: repair sampled archs with the loop's ``repair`` when one is given.
        min_reward_scale: floor of the advantage scale, in reward units (0.005 = half an
            accuracy point: smaller differences are not amplified).

    ``lr`` and ``entropy_weight`` were picked among four pairs on the test problem
    (tests/search/strategy_harness.py: full space, RAM + MACs budget, 3 seeds, 300 evaluations),
    not on bench/strategies.py: 0.005 / 0.02 found the best archs; 0.03 / 0.01 converged fastest
    and collapsed on the benchmark's small space.
    """

    population: int = 10
    hidden: int = 64
    lr: float = 0.005
    baseline_decay: float = 0.9
    entropy_weight: float = 0.02
    penalty_exponent: float = -0.5
    temperature: float = 1.0
    tanh_constant: float = 2.5
    use_repair: bool = True
    min_reward_scale: float = 0.005


class _Controller(nn.Module):
    """LSTM policy over a fixed sequence of categorical decisions of sizes ``sizes``."""

    def __init__(self, sizes: list[int], hidden: int) -> None:
        super().__init__()
        self.sizes = sizes
        self.start = nn.Parameter(torch.zeros(1, hidden))
        self.embed = nn.ModuleList(nn.Embedding(n, hidden) for n in sizes)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.heads = nn.ModuleList(nn.Linear(hidden, n) for n in sizes)

    def run(self, batch: int, cfg: RLConfig, gen: torch.Generator,
            choices: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sample ``batch`` sequences (``choices`` None) or score given ones (teacher forcing).

        Returns:
            choices ``(B, T)`` long, log-probs ``(B, T)`` and entropies ``(B, T)`` per decision.
        """
        x = self.start.expand(batch, -1)
        h = c = torch.zeros_like(x)
        picked, logps, ents = [], [], []
        for t, head in enumerate(self.heads):
            h, c = self.cell(x, (h, c))
            logits = cfg.tanh_constant * torch.tanh(head(h) / cfg.temperature)
            logp = torch.log_softmax(logits, dim=-1)
            if choices is None:
                a = torch.multinomial(logp.exp(), 1, generator=gen)[:, 0]
            else:
                a = choices[:, t]
            picked.append(a)
            logps.append(logp.gather(1, a[:, None])[:, 0])
            ents.append(-(logp.exp() * logp).sum(-1))
            x = self.embed[t](a)
        return torch.stack(picked, 1), torch.stack(logps, 1), torch.stack(ents, 1)


@register_strategy("rl")
class RLSearch:
    """REINFORCE-trained LSTM controller over ``spec`` (heuristic: no optimality guarantee).

    Args:
        spec: the space.
        config: :class:`RLConfig` (or a dict / another config: matching fields are taken).
        seed: seeds the one ``torch.Generator``.
        repair: the loop's repair; used on sampled archs when ``config.use_repair``.
    """

    def __init__(self, spec: SpaceSpec, config: Any = None, *, seed: int = 0, repair: Repair | None = None) -> None:
        self.spec = spec
        self.config = coerce_config(config, RLConfig)
        self.repair = repair
        self.seed = seed
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)  # for repair only
        with torch_threads(1):
            self.controller = _Controller([len(d.choices) for d in decisions(spec)], self.config.hidden)
            with torch.no_grad():
                for p in self.controller.parameters():  # ENAS init, drawn from our generator only
                    p.uniform_(-0.1, 0.1, generator=self.gen)
        self.opt = torch.optim.Adam(self.controller.parameters(), lr=self.config.lr)
        self.baseline: float | None = None
        self.adv_ms = 0.0  # moving mean square of advantages
        self.updates = 0
        self.pending: dict[Arch, list[list[int]]] = defaultdict(list)
        self.population: list[tuple[Arch, float]] = []  # best feasible archs, best first (for loops)

    def reward(self, score: Score) -> float:
        """MnasNet-style: ``fitness * (1 + violation) ** w``; an infeasible score without a violation
        amount counts as 100% over budget."""
        v = score.violation if score.violation > 0 or score.feasible else 1.0
        return float(score.fitness) * (1.0 + v) ** self.config.penalty_exponent

    def ask(self, n: int | None = None) -> list[Arch]:
        """``n`` (default ``population``) archs sampled from the controller, repaired if asked to."""
        count = n or self.config.population
        with torch_threads(1), torch.no_grad():
            choices, _, _ = self.controller.run(count, self.config, self.gen)
        out = []
        for row in choices.tolist():
            arch = decode(self.spec, row)
            if self.repair is not None and self.config.use_repair:
                arch = self.repair(arch, self.rng) or arch  # unrepairable: evaluated, and penalised
            self.pending[arch].append(row)
            out.append(arch)
        return out

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        """One REINFORCE step on the batch. Archs this object did not sample (e.g. after a resume)
        are credited to their own encoding."""
        if not archs:
            return
        rows = []
        for arch in archs:
            queue = self.pending.get(arch)
            rows.append(queue.pop(0) if queue else encode(self.spec, arch))
            if queue is not None and not queue:
                del self.pending[arch]
        rewards = np.array([self.reward(s) for s in scores])
        cfg = self.config
        if self.baseline is None:
            self.baseline = float(rewards.mean())
        adv = rewards - self.baseline
        self.adv_ms = float(np.mean(adv**2)) if self.updates == 0 else (
            cfg.baseline_decay * self.adv_ms + (1 - cfg.baseline_decay) * float(np.mean(adv**2)))
        scaled = adv / max(np.sqrt(self.adv_ms), cfg.min_reward_scale)
        for r in rewards:
            self.baseline = cfg.baseline_decay * self.baseline + (1 - cfg.baseline_decay) * float(r)
        mask = torch.tensor([active_mask(self.spec, r) for r in rows], dtype=torch.float32)
        with torch_threads(1):
            _, logp, ent = self.controller.run(len(rows), cfg, self.gen, torch.tensor(rows, dtype=torch.long))
            logp_seq = (logp * mask).sum(1)
            entropy = (ent * mask).sum(1).mean()
            loss = -(torch.from_numpy(scaled).float() * logp_seq).mean() - cfg.entropy_weight * entropy
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.updates += 1
        self.population = keep_best(self.population, archs, scores, cfg.population)

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

    @property
    def generation(self) -> int:
        return self.updates

    def entropy(self) -> float:
        """Mean entropy (nats per active decision) of the current policy, from 64 fresh samples
        (a diagnostic for collapse; uses its own generator so the search is unaffected)."""
        with torch_threads(1), torch.no_grad():
            choices, _, ent = self.controller.run(64, self.config, torch.Generator().manual_seed(0))
            mask = torch.tensor([active_mask(self.spec, r) for r in choices.tolist()], dtype=torch.float32)
            return float((ent * mask).sum() / mask.sum())

