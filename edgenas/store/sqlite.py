"""Search results on SQLite: one row per run, one row per evaluated architecture (a trial).

The store is what makes a search resumable: the loop writes each batch of trials in one
transaction (WAL journal; an interrupted batch's finished trials, and a streaming estimator's as
they come), so a crash loses at most the batch in flight, and a rerun replays the strategy with
every stored evaluation served from here. A run is identified by its name; opening
it again with other settings (strategy, seed, space, objectives, constraints, config) is refused,
because its stored scores would answer a different question.

Locations: a file path, ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (the
SQLAlchemy spelling), or ``:memory:`` (also ``sqlite://``) for tests.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EdgenasError, UsageError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    strategy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    space TEXT NOT NULL,
    config TEXT NOT NULL,
    objectives TEXT NOT NULL,
    constraints TEXT NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    arch TEXT NOT NULL,
    fitness REAL NOT NULL,
    feasible INTEGER NOT NULL,
    violation REAL NOT NULL,
    objectives TEXT NOT NULL,
    metrics TEXT NOT NULL,
    estimator TEXT NOT NULL,
    wall_s REAL NOT NULL,
    created REAL NOT NULL,
    UNIQUE (run_id, seq),
    UNIQUE (run_id, arch)
);
"""


class StoreError(EdgenasError):
    """A results store that cannot be opened or read."""


class RunMismatchError(StoreError):
    """A stored run opened again with different settings."""


@dataclass(frozen=True)
class Trial:
    """One evaluated architecture.

    Attributes:
        seq: 0-based order of first evaluation within the run.
        arch: canonical arch string.
        fitness: the scalar the strategy maximises (the estimator's score, e.g. predicted accuracy).
        feasible, violation: against the run's constraints (violation 0 when feasible).
        objectives: all minimised, in the run's objective order (e.g. ``(-accuracy, latency)``).
        metrics: the cost model's metrics (``sram_bytes``, ``latency``, ...).
        estimator: name of the estimator that gave ``fitness``.
        wall_s: evaluation time (estimator and cost model) of this arch; a batch's time is shared
            equally among its archs.
        created: Unix time the trial was stored.
    """

    seq: int
    arch: str
    fitness: float
    feasible: bool
    violation: float = 0.0
    objectives: tuple[float, ...] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    estimator: str = ""
    wall_s: float = 0.0
    created: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "arch": self.arch, "fitness": self.fitness, "feasible": self.feasible,
            "violation": self.violation, "objectives": list(self.objectives), "metrics": dict(self.metrics),
            "estimator": self.estimator, "wall_s": self.wall_s, "created": self.created,
        }


@dataclass(frozen=True)
class RunInfo:
    """A search run: the settings its stored trials are valid for."""

    id: int
    name: str
    strategy: str
    seed: int
    space: str
    config: Mapping[str, Any]
    objectives: tuple[str, ...]
    constraints: Mapping[str, float]
    started: float

    def settings(self) -> dict[str, Any]:
        """Everything that must match for a resume (JSON-normalised)."""
        return _settings(self.strategy, self.seed, self.space, self.config, self.objectives, self.constraints)


def _settings(strategy: str, seed: int, space: str, config: Mapping[str, Any], objectives: Sequence[str],
              constraints: Mapping[str, float]) -> dict[str, Any]:
    # a JSON round trip makes tuples lists and ints in float fields compare like the stored copy
    return json.loads(json.dumps({
        "strategy": strategy, "seed": int(seed), "space": space, "config": dict(config),
        "objectives": list(objectives), "constraints": {k: float(v) for k, v in sorted(constraints.items())},
    }, sort_keys=True))


def resolve_location(location: str | Path) -> str:
    """The sqlite3 path for a file path or ``sqlite:///`` URL (``:memory:`` for an in-memory store).

    Raises:
        UsageError: a URL of another database kind.
    """
    text = str(location)
    if text in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "sqlite" or not rest.startswith("/"):
            raise UsageError(f"cannot open results store {text!r}",
                             hint="use a file path, sqlite:///relative.db, sqlite:////absolute.db or :memory:")
        return rest[1:]  # sqlite:///x.db -> x.db; sqlite:////abs/x.db -> /abs/x.db
    return text


class ResultsStore:
    """Runs and trials in one SQLite database.

    Args:
        location: file path, ``sqlite:///`` URL or ``:memory:``; parent folders are created.

    Raises:
        StoreError: the file is not an edgenas results store (or is from a newer schema).
    """

    def __init__(self, location: str | Path = ":memory:") -> None:
        path = resolve_location(location)
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(path)
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self._conn:
                self._conn.executescript(_SCHEMA)
                row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    self._conn.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) > SCHEMA_VERSION:
                    raise StoreError(f"results store {path} has schema {row[0]}, this edgenas reads {SCHEMA_VERSION}",
                                     hint="upgrade edgenas or use another --store")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open results store {path}: {exc}",
                             hint="give a new file, or one written by `edgenas search`") from None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ runs

    def open_run(self, name: str, *, strategy: str, seed: int, space: str, config: Mapping[str, Any] | None = None,
                 objectives: Sequence[str] = (), constraints: Mapping[str, float] | None = None) -> RunInfo:
        """The run called ``name``: created if new, else checked against these settings.

        Raises:
            RunMismatchError: ``name`` exists with other settings (the message names them).
        """
        wanted = _settings(strategy, seed, space, config or {}, objectives, constraints or {})
        existing = self.get_run(name)
        if existing is not None:
            have = existing.settings()
            if have != wanted:
                diff = ", ".join(f"{k}: stored {have[k]!r}, asked {wanted[k]!r}" for k in wanted if have[k] != wanted[k])
                raise RunMismatchError(
                    f"run {name!r} in {self.path} was started with other settings ({diff})",
                    hint="rerun with the stored settings to resume it, or give another run name",
                )
            return existing
        with self._conn:
            self._conn.execute(
                "INSERT INTO runs (name, strategy, seed, space, config, objectives, constraints, started) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, wanted["strategy"], wanted["seed"], wanted["space"], json.dumps(wanted["config"], sort_keys=True),
                 json.dumps(wanted["objectives"]), json.dumps(wanted["constraints"], sort_keys=True), time.time()),
            )
        run = self.get_run(name)
        assert run is not None
        return run

    def get_run(self, name: str) -> RunInfo | None:
        row = self._conn.execute("SELECT * FROM runs WHERE name = ?", (name,)).fetchone()
        return _run(row) if row else None

    def runs(self) -> list[RunInfo]:
        return [_run(r) for r in self._conn.execute("SELECT * FROM runs ORDER BY id")]

    # ------------------------------------------------------------------ trials

    def add_trials(self, run: RunInfo | int, trials: Iterable[Trial]) -> None:
        """Store a batch of trials in one transaction (all or none).

        Raises:
            StoreError: a trial's seq or arch is already stored for this run.
        """
        run_id = run.id if isinstance(run, RunInfo) else int(run)
        rows = [(run_id, t.seq, t.arch, float(t.fitness), int(bool(t.feasible)), float(t.violation),
                 json.dumps([float(v) for v in t.objectives]), json.dumps(dict(t.metrics), sort_keys=True),
                 t.estimator, float(t.wall_s), t.created or time.time()) for t in trials]
        try:
            with self._conn:
                self._conn.executemany(
                    "INSERT INTO trials (run_id, seq, arch, fitness, feasible, violation, objectives, metrics, "
                    "estimator, wall_s, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"trial already stored for run {run_id}: {exc}",
                             hint="two searches are writing the same run; give each its own run name") from None

    def trials(self, run: RunInfo | int) -> list[Trial]:
        """Every stored trial of ``run`` in evaluation order."""
        run_id = run.id if isinstance(run, RunInfo) else int(run)
        rows = self._conn.execute(
            "SELECT seq, arch, fitness, feasible, violation, objectives, metrics, estimator, wall_s, created "
            "FROM trials WHERE run_id = ? ORDER BY seq", (run_id,))
        return [Trial(seq, arch, fitness, bool(feasible), violation, tuple(json.loads(obj)), json.loads(metrics),
                      estimator, wall_s, created)
                for seq, arch, fitness, feasible, violation, obj, metrics, estimator, wall_s, created in rows]

    def count_trials(self, run: RunInfo | int) -> int:
        run_id = run.id if isinstance(run, RunInfo) else int(run)
        return int(self._conn.execute("SELECT COUNT(*) FROM trials WHERE run_id = ?", (run_id,)).fetchone()[0])


def _run(row: tuple) -> RunInfo:
    rid, name, strategy, seed, space, config, objectives, constraints, started = row
    return RunInfo(rid, name, strategy, int(seed), space, json.loads(config), tuple(json.loads(objectives)),
                   json.loads(constraints), started)
