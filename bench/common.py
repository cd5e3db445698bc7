"""Shared by the benchmarks: provenance (git, machine) and writing one JSON result file."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def provenance() -> dict:
    """Git commit, dirty flag (and which tracked files differ), UTC time, the command line and the
    machine the numbers were measured on."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    # Porcelain lines are "XY path"; the first may have lost its leading space to strip().
    changed = [path for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
               if not (path := line[2:].strip()).startswith("bench/results/")]  # results a bench writes itself
    return {
        "git": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(changed),
        **({"dirty_files": changed} if changed else {}),
        "utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(["python", *sys.argv]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()},
    }


def _keep_in_history(path: Path, replace: bool = False) -> None:
    """Copy a result file to ``history/<name>/<utc>.json`` unless it is there already (``replace``:
    even then, for the run being written, whose later writes keep its start time)."""
    try:
        utc = json.loads(path.read_text()).get("utc", "unknown")
    except (OSError, json.JSONDecodeError):
        return
    kept = RESULTS_DIR / "history" / path.stem / f"{utc.replace(':', '')}.json"
    if replace or not kept.exists():
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, kept)


def write_result(name: str, result: dict) -> Path:
    """Write ``bench/results/<name>.json`` (stable keys, provenance added) and return its path.

    Every run is also kept under ``bench/results/history/<name>/``, the result it replaces too, so
    a figure quoted from an earlier run stays traceable. A run from a tree with uncommitted
    changes to tracked files says so on stderr and lists them in ``dirty_files``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    record = {"schema": 1, "bench": name, **provenance(), **result}
    if record["dirty"]:
        print(f"warning: {name} measured on a tree with uncommitted changes: {', '.join(record['dirty_files'])}",
              file=sys.stderr)
    if path.exists():
        _keep_in_history(path)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    _keep_in_history(path, replace=True)
    return path


def add_experiments_option(parser, experiments: tuple[str, ...]) -> None:
    """``--experiments``: a comma-separated subset of ``experiments`` (default: all of them)."""
    parser.add_argument("--experiments", default=",".join(experiments),
                        help="comma-separated, of " + ", ".join(experiments))


def chosen_experiments(parser, args, experiments: tuple[str, ...]) -> list[str]:
    """The names ``--experiments`` gave; a parser error names any that ``experiments`` lacks."""
    names = args.experiments.split(",")
    if unknown := set(names) - set(experiments):
        parser.error(f"unknown experiments {sorted(unknown)}; choose from {', '.join(experiments)}")
    return names


def paired_comparison(a_correct, b_correct) -> dict:
    """How sure "a beats b" is when both classified the same images: the accuracy difference in
    points with a 95% interval over the per-image differences, and McNemar's exact two-sided
    p-value on the images exactly one of them got right. On 10,000 test images a difference
    under about half a point is usually inside the noise; this says so instead of a bare ranking."""
    import numpy as np
    from scipy.stats import binomtest

    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"need two equal-length 1-D correctness vectors, got {a.shape} and {b.shape}")
    d = a.astype(np.float64) - b.astype(np.float64)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0.0
    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    p = binomtest(only_a, only_a + only_b).pvalue if only_a + only_b else 1.0
    return {"diff_points": round(float(100 * d.mean()), 3),
            "ci95_points": [round(float(100 * (d.mean() - half)), 3), round(float(100 * (d.mean() + half)), 3)],
            "only_a": only_a, "only_b": only_b, "mcnemar_p": round(float(p), 4)}
