"""``darts`` on the ask/tell API, so the generic search loop can run it by name.

Unlike the other strategies this one trains: the differentiable search *is* weight and logit
updates. ``ask()`` runs one epoch of bilevel optimisation and returns the currently derived arch
(argmax), followed by up to ``n - 1`` distinct archs drawn from the per-slot softmax (so a loop
that asks for a batch spends it near the current optimum); ``tell`` records the loop's scores and
keeps the best feasible arch. When the loop hands over ``repair`` and the derived arch is changed
by it (it breaks a constraint), the repaired arch is returned too.

Inputs (supernet, data, latency table) can be passed as keyword arguments; otherwise they are
loaded from :class:`DartsConfig` (``supernet_dir``, ``dataset``, ``latency_table``; defaults: the
bundled supernet and its dataset, and the bundled table of ``config.target``). ``state_dict``
holds the logits, histories and scores; resuming restores the logits on freshly loaded weights
(the supernet's weights are not checkpointed: at tens of MB per step that is the loop's job to
avoid, and the logits carry the search's state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...cost.latency_table import LatencyTable
from ...data import DataSplits, load_dataset, load_recorded_dataset
from ...errors import SpaceError
from ...space import Arch, SpaceSpec
from ...supernet import OFASupernet, load_supernet
from ...supernet.bundled import bundled_supernet_dir
from ..registry import register_strategy
from ..strategy import Repair, Score
from ..strategy_config import coerce_config
from .elastic import DartsConfig, DartsSearch
from .slots import arch_from_choices


def _load_inputs(spec: SpaceSpec, cfg: DartsConfig, net: OFASupernet | None, data: DataSplits | None,
                 table: LatencyTable | None, seed: int) -> tuple[OFASupernet, DataSplits, LatencyTable]:
    meta = None
    if net is None:
        net, meta = load_supernet(Path(cfg.supernet_dir) if cfg.supernet_dir else bundled_supernet_dir())
    if data is None:
        data = load_recorded_dataset(meta, cfg.dataset) if meta is not None else load_dataset(cfg.dataset or "fashion-mnist", seed=seed)
    if table is None:
        if cfg.latency_table:
            table = LatencyTable.load(cfg.latency_table)
        else:
            from ...profile.targets import default_table_path

            table = LatencyTable.load(default_table_path(cfg.target))
    if net.spec != spec:
        raise SpaceError(f"darts: the supernet is for space {net.spec.name!r}, the search runs on {spec.name!r}",
                         hint="pass the supernet trained for this space with --supernet DIR")
    return net, data, table


@register_strategy("darts")
class Darts:
    """Hardware-aware DARTS over ``spec`` (see :mod:`edgenas.search.darts.elastic`).

    Args:
        spec: the elastic space (the supernet's).
        config: a :class:`DartsConfig`, a dict of its fields, or another strategy's config (ignored fields).
        seed: seeds the search (logits, batches, Gumbel noise) and the sampled extra archs.
        repair: the loop's feasibility repair (optional).
        net, data, table: inputs; loaded from ``config`` when omitted.
    """

    def __init__(self, spec: SpaceSpec, config: Any = None, *, seed: int = 0, repair: Repair | None = None,
                 net: OFASupernet | None = None, data: DataSplits | None = None, table: LatencyTable | None = None,
                 **_context: Any) -> None:
        self.spec = spec
        self.config = coerce_config(config, DartsConfig).check()
        self.seed = seed
        self.repair = repair
        self.rng = np.random.default_rng(seed)
        net, data, table = _load_inputs(spec, self.config, net, data, table, seed)
        self.search = DartsSearch(net, data, table, self.config, seed=seed)
        self.population: list[tuple[Arch, float]] = []  # feasible, best first
        self.generation = 0

    def _sample(self) -> Arch:
        """One arch drawn from the per-slot softmax (depth by the first ``skip``, as in derivation)."""
        model = self.search.model
        with torch.no_grad():
            probs = [p.numpy().astype(np.float64) for p in model.candidate_weights()]
        picks = [int(self.rng.choice(len(p), p=p / p.sum())) for p in probs]
        return arch_from_choices(self.spec, self.search.resolution, self.search.width, model.slots, picks)

    def ask(self, n: int | None = None) -> list[Arch]:
        """One epoch of bilevel optimisation, then the derived arch (+ samples up to ``n``)."""
        derived = self.search.epoch()
        out = [derived]
        if self.repair is not None:
            fixed = self.repair(derived, self.rng)
            if fixed is not None and fixed != derived:
                out.append(fixed)
        want = max(1, n or 1)
        for _ in range(20 * want):
            if len(out) >= want:
                break
            arch = self._sample()
            if arch not in out:
                out.append(arch)
        return out

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        merged = dict(self.population)
        for arch, score in zip(archs, scores):
            if score.feasible:
                merged[arch] = max(float(score.fitness), merged.get(arch, float("-inf")))
        self.population = sorted(merged.items(), key=lambda t: -t[1])[:10]
        self.generation += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

