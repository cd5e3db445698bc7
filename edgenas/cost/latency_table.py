"""Latency lookup tables: measured entries per block signature, for one target and toolchain.

A table is JSON (portable, diffable, never pickled)::

    {"schema": 1, "target": "cortex-m7", "board": "mps2-an500", "unit": "instructions",
     "backend": "edgenas-c", "fingerprint": {...}, "space": {...SpaceSpec...},
     "overhead": [samples...], "entries": {"mbconv:i12x8:m24:o12:k3:s2:r0": [samples...], ...}}

Raw samples are kept (count, median and spread derive from them), so a table can be extended
and re-summarised. ``predict(arch)`` = sum of the median of each of the arch's entries + the
median per-inference overhead. A table only answers for the toolchain it was measured with: the
fingerprint (compiler and flags, runtime sources hash, board clock, backend versions) is
compared on load and a mismatch is a :class:`StaleTableError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EdgenasError
from ..space import Arch, SpaceSpec
from ..space.signature import arch_signatures

SCHEMA = 1
UNITS = ("instructions", "cycles", "ms")


class TableError(EdgenasError):
    """A latency table that is missing, malformed or incomplete."""


class StaleTableError(TableError):
    """A table measured with another toolchain, runtime or clock than the current one."""


class UnknownTargetError(EdgenasError):
    """A target name no profiling driver answers to."""

    exit_code = 2


@dataclass(frozen=True)
class EntryStats:
    """Summary of repeated measurements of one entry (``unit`` of its table)."""

    count: int
    median: float
    spread: float
    """Interquartile range (q75 - q25) of the samples."""

    @classmethod
    def of(cls, samples: Iterable[float]) -> EntryStats:
        x = np.asarray(list(samples), dtype=np.float64)
        if x.size == 0:
            raise TableError("an entry has no samples", hint="re-run `edgenas profile` to measure it")
        q25, q50, q75 = np.percentile(x, [25, 50, 75])
        return cls(int(x.size), float(q50), float(q75 - q25))


def fingerprint_hash(fingerprint: Mapping[str, object]) -> str:
    """Short stable hash of a fingerprint dict (key order does not matter)."""
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]


class LatencyTable:
    """Measured latency entries of one target; see the module docstring for the file format.

    Attributes:
        target: target name (``cortex-m7``, ``host``, ``linux-rpc``).
        unit: ``instructions`` (emulated boards), ``cycles`` (real boards) or ``ms`` (Linux/host).
        fingerprint: toolchain identity the entries are valid for.
        spec: the search space whose archs ``predict`` accepts.
        board: board name (Cortex-M) or device description.
        backend: what ran the entries (``edgenas-c``, ``onnxruntime``, ``tvm``, ``litert``).
    """

    def __init__(self, target: str, unit: str, fingerprint: Mapping[str, object], spec: SpaceSpec, *,
                 board: str = "", backend: str = "", entries: Mapping[str, list[float]] | None = None,
                 overhead: list[float] | None = None, meta: Mapping[str, object] | None = None) -> None:
        if unit not in UNITS:
            raise TableError(f"unit {unit!r} is not one of {UNITS}")
        self.target = target
        self.unit = unit
        self.fingerprint = dict(fingerprint)
        self.spec = spec
        self.board = board
        self.backend = backend
        self.entries: dict[str, list[float]] = {k: list(v) for k, v in (entries or {}).items()}
        self.overhead: list[float] = list(overhead or [])
        self.meta: dict[str, object] = dict(meta or {})
        # Statistics per key, tagged with the sample list they were computed from: the search
        # calls predict() thousands of times, and percentiles are far too slow to redo each time.
        self._stats_cache: dict[str, tuple[tuple[int, int], EntryStats]] = {}

    # ------------------------------------------------------------------ content
    def add(self, key: str, samples: Iterable[float]) -> None:
        """Append samples to entry ``key`` (created if new)."""
        self.entries.setdefault(key, []).extend(float(s) for s in samples)

    def add_overhead(self, samples: Iterable[float]) -> None:
        self.overhead.extend(float(s) for s in samples)

    def _cached_stats(self, name: str, samples: list[float]) -> EntryStats:
        tag = (id(samples), len(samples))  # a replaced or extended sample list is recomputed
        cached = self._stats_cache.get(name)
        if cached is None or cached[0] != tag:
            cached = (tag, EntryStats.of(samples))
            self._stats_cache[name] = cached
        return cached[1]

    def stats(self, key: str) -> EntryStats:
        samples = self.entries.get(key)
        if samples is None:
            raise TableError(
                f"table for {self.target} has no entry {key!r}",
                hint=f"extend it: edgenas profile --target {self.target} --table <this file>",
            )
        return self._cached_stats(key, samples)

    def __contains__(self, key: str) -> bool:
        return bool(self.entries.get(key))

    def __len__(self) -> int:
        return sum(1 for v in self.entries.values() if v)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """Keys of ``keys`` with no samples yet, in the given order, without duplicates."""
        seen: set[str] = set()
        out = []
        for k in keys:
            if k not in seen and k not in self:
                out.append(k)
            seen.add(k)
        return out

    # ------------------------------------------------------------------ prediction
    def predict_keys(self, keys: Iterable[str]) -> float:
        """Sum of the entries' medians + the median overhead."""
        if not self.overhead:
            raise TableError(f"table for {self.target} has no overhead measurement",
                             hint="run `edgenas profile` once more: it measures the overhead first")
        overhead = self._cached_stats("\0overhead", self.overhead)
        return float(sum(self.stats(k).median for k in keys) + overhead.median)

    def predict(self, arch: Arch) -> float:
        """Predicted latency of ``arch`` in ``self.unit`` (an estimate: sum of measured entries).

        Raises:
            SpaceError: ``arch`` is not in the table's space.
            TableError: an entry of ``arch`` has not been measured.
        """
        arch.validate(self.spec)
        return self.predict_keys(s.key for s in arch_signatures(self.spec, arch))

    # ------------------------------------------------------------------ checks
    def check_fingerprint(self, current: Mapping[str, object]) -> None:
        """Raise :class:`StaleTableError` naming what differs if ``current`` is not the table's."""
        if fingerprint_hash(current) == fingerprint_hash(self.fingerprint):
            return
        diffs = sorted(k for k in set(current) | set(self.fingerprint)
                       if current.get(k) != self.fingerprint.get(k))
        detail = "; ".join(f"{k}: table {self.fingerprint.get(k)!r} vs now {current.get(k)!r}" for k in diffs[:4])
        raise StaleTableError(
            f"latency table for {self.target} was measured with another toolchain ({detail})",
            hint="re-profile with `edgenas profile --target ... --table NEW.json` (entries are not transferable)",
        )

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "target": self.target,
            "board": self.board,
            "unit": self.unit,
            "backend": self.backend,
            "fingerprint": self.fingerprint,
            "fingerprint_hash": fingerprint_hash(self.fingerprint),
            "space": json.loads(self.spec.to_json()),
            "meta": self.meta,
            "overhead": self.overhead,
            "summary": {k: EntryStats.of(v).__dict__ for k, v in sorted(self.entries.items()) if v},
            "entries": {k: v for k, v in sorted(self.entries.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> LatencyTable:
        if not isinstance(data, Mapping):
            raise TableError(f"invalid latency table: a JSON {type(data).__name__}, not an object",
                             hint="was it written by edgenas profile?")
        if data.get("schema") != SCHEMA:
            raise TableError(f"latency table schema {data.get('schema')!r} is not {SCHEMA}",
                             hint="re-profile with this edgenas version")
        try:
            return cls(
                data["target"], data["unit"], data["fingerprint"], SpaceSpec.from_dict(data["space"]),
                board=data.get("board", ""), backend=data.get("backend", ""), entries=data["entries"],
                overhead=data.get("overhead", []), meta=data.get("meta", {}),
            )
        except (KeyError, TypeError) as exc:
            raise TableError(f"invalid latency table: missing or bad field {exc}",
                             hint="was it written by edgenas profile?") from exc

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file + rename), so an interrupted run never leaves half a table."""
        path = Path(path)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, indent=1)
                f.write("\n")
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a table is a shareable artifact
            os.replace(tmp, path)
        except OSError as exc:  # no rights, a full disk: name the table, not the temp file
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            raise TableError(f"cannot write latency table {path}: {exc.strerror or exc}",
                             hint="give --table a path you can write") from None
        return path

    @classmethod
    def load(cls, path: str | Path, *, fingerprint: Mapping[str, object] | None = None) -> LatencyTable:
        """Read a table; with ``fingerprint``, also require that it matches (else StaleTableError)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TableError(f"latency table {path} does not exist",
                             hint="build one with `edgenas profile --target ... --table PATH`") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TableError(f"latency table {path} is not valid JSON: {exc}") from None
        except IsADirectoryError:
            raise TableError(f"latency table {path} is a folder, not a file",
                             hint="give --table the table's .json file (`edgenas profile` writes one)") from None
        except OSError as exc:  # no rights, ...
            raise TableError(f"cannot read latency table {path}: {exc.strerror}",
                             hint="check the --table path and its permissions") from None
        table = cls.from_dict(data)
        if fingerprint is not None:
            table.check_fingerprint(fingerprint)
        return table
