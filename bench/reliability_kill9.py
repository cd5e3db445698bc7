"""``kill9``: ``edgenas train``, ``predictor collect`` and ``search`` killed with SIGKILL and run again.

Each command runs once uninterrupted (the reference), then in chains on a fresh folder: start the
same command line, wait until it has finished ``k`` units of work (k drawn above what is already
done, 0 included: a kill during start-up), wait a random fraction of a second more, SIGKILL its
process group, check what is on disk, start it again; once all the work is on disk (or after a
few kills) one more run finishes the chain, and chains start until the command's share of kills. Units: training epochs in the checkpoint's log, lines of the samples file,
trials in the search store. A kill that finds the process already finished does not count.

After every kill, what is on disk must be readable, part of the reference (same epochs and
losses in order, same sample lines, same (seq, arch, fitness) trials), and keep everything the
kills before it left (``lost``); no unit may appear twice (``repeated``). At the end of a chain the
result must equal the reference: the same weights bytes and log, the same samples file bytes,
the same trials. Any miss is a ``lost_or_repeated`` case, listed with its seed, chain and kill.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
EDGENAS = str(Path(sys.executable).parent / "edgenas")
RUN_TIMEOUT_S = 600.0


@dataclass
class Job:
    """One command under test: its argument list for an output folder, how much of its work is
    done, and the state to compare (``None`` when nothing is there yet)."""

    name: str
    args: Callable[[Path], list[str]]
    done: Callable[[Path], int]
    state: Callable[[Path], list]
    final: Callable[[Path], object]


# --- reading what a run left ----------------------------------------------------------------


def _train_log(out: Path) -> list:
    from edgenas.supernet.checkpoint import load_meta

    if not out.is_dir() or not any(out.iterdir()):
        return []
    try:
        return [(r["phase"], r["epoch"], r["loss"]) for r in load_meta(out).get("log", [])]
    except Exception as e:  # noqa: BLE001 (a checkpoint nobody can read is the finding)
        if "no supernet checkpoint" in str(e):
            return []
        raise


def _train_final(out: Path) -> object:
    from edgenas.supernet.checkpoint import weights_sha256

    return weights_sha256(out), _train_log(out)


def _lines(path: Path) -> list:
    if not path.is_file():
        return []
    text = path.read_text()
    return text.split("\n")[:-1]  # a torn last line (no newline yet) is not a finished sample


def _samples(out: Path) -> Path:
    return out / "samples-0of1.jsonl"


def _trials(out: Path) -> list:
    db = out / "results.db"
    if not db.is_file():
        return []
    for _ in range(20):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
                return [tuple(r) for r in con.execute("SELECT seq, arch, fitness FROM trials ORDER BY seq")]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            time.sleep(0.1)
    raise RuntimeError(f"{db} stayed locked")


def _data(work: Path) -> Path:
    """Synthetic images, enough that a tiny-space epoch takes about a second (the built-in set: 0.1 s)."""
    from edgenas.data import make_synthetic

    d = make_synthetic(seed=0, n_train=1536, n_val=1, n_test=64)
    path = work / "images.npz"
    np.savez(path, x_train=d.train.x, y_train=d.train.y, x_test=d.test.x, y_test=d.test.y)
    return path


def jobs(work: Path) -> list[Job]:
    """The three commands, sized to take some seconds of work each after start-up on two busy cores."""
    tiny = work / "train-reference"  # the train reference doubles as the supernet the others use
    train = ["train", "--data", str(_data(work)), "--space", "tiny-test", "--epochs", "3,1,1,1", "--threads", "1",
             "--seed", "4", "--quiet", "--out"]
    collect = ["predictor", "collect", "--supernet", str(tiny), "--count", "40", "--val-images", "256",
               "--calib-images", "1024", "--seed", "5", "--threads", "1", "--quiet", "--samples"]
    search = ["search", "--target", "cortex-m7", "--supernet", str(tiny), "--estimator", "inherited",
              "--strategy", "evolution", "--budget", "128", "--seed", "3", "--quiet", "--out"]
    return [
        Job("train", lambda o: [*train, str(o)], lambda o: len(_train_log(o)), _train_log, _train_final),
        Job("predictor collect", lambda o: [*collect, str(o)], lambda o: len(_lines(_samples(o))),
            lambda o: _lines(_samples(o)), lambda o: _samples(o).read_bytes()),
        Job("search", lambda o: [*search, str(o)], lambda o: len(_trials(o)), _trials, _trials),
    ]


# --- running and killing --------------------------------------------------------------------


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with log.open("ab") as f:
        return subprocess.Popen([EDGENAS, *args], cwd=log.parent, env=env, start_new_session=True,
                                stdout=f, stderr=subprocess.STDOUT)


def _kill(proc: subprocess.Popen) -> bool:
    """SIGKILL the command and whatever it started; True if it was still running."""
    alive = proc.poll() is None
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)
    return alive


def _finish(job: Job, out: Path, log: Path) -> float:
    t0 = time.monotonic()
    proc = _start(job.args(out), log)
    try:
        code = proc.wait(RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise RuntimeError(f"{job.name} did not finish in {RUN_TIMEOUT_S} s (see {log})") from None
    if code != 0:
        raise RuntimeError(f"{job.name} exited {code}: {log.read_text()[-1500:]}")
    return time.monotonic() - t0


def _kill_at(job: Job, out: Path, log: Path, units: int, extra_s: float) -> tuple[bool, float]:
    """Start, wait for ``units`` finished units (or the end), wait ``extra_s``, SIGKILL."""
    t0 = time.monotonic()
    proc = _start(job.args(out), log)
    while proc.poll() is None and time.monotonic() - t0 < RUN_TIMEOUT_S:
        try:
            if job.done(out) >= units:
                break
        except Exception:  # noqa: BLE001 (mid-write: look again)
            pass
        time.sleep(0.05)
    time.sleep(extra_s)
    return _kill(proc), time.monotonic() - t0


def _check(kind: str, ref: list, now: list, before: list) -> list[str]:
    """What is wrong with ``now`` (after a kill) against the reference and the previous state."""
    problems = []
    if len(set(map(repr, now))) != len(now):
        problems.append(f"{kind}: a unit appears twice")
    if kind == "train":  # epochs in order: the log must be a prefix of the reference's
        if now != ref[: len(now)]:
            problems.append(f"train: log {now} is not a prefix of the reference's")
    elif not set(map(repr, now)) <= set(map(repr, ref)):
        problems.append(f"{kind}: {len(set(map(repr, now)) - set(map(repr, ref)))} unit(s) not in the reference")
    if not set(map(repr, before)) <= set(map(repr, now)):
        problems.append(f"{kind}: {len(set(map(repr, before)) - set(map(repr, now)))} finished unit(s) lost")
    return problems


def kill9_section(seed: int, kills: int = 36, max_chains: int = 16, kills_per_chain: int = 4) -> dict:
    """About ``kills`` SIGKILLs spread over the three commands; returns the section with its ``summary``.

    A chain ends when a kill finds all the work done (the next kill could only land during exit),
    after ``kills_per_chain`` kills, or when the process had finished; chains start until the
    command's share of the kills is reached.
    """
    work = REPO / "build" / "reliability" / "kill9"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rng = np.random.default_rng([seed, 9])
    report, failures, cases = {}, [], 0
    for j, job in enumerate(jobs(work)):
        share = kills // 3 + (j < kills % 3)
        stem = job.name.replace(" ", "-")
        ref_out = work / f"{stem}-reference"
        ref_s = _finish(job, ref_out, work / f"{stem}-reference.log")
        ref_state, ref_final, total = job.state(ref_out), job.final(ref_out), job.done(ref_out)
        rows, killed_here = [], 0
        for chain in range(max_chains):
            if killed_here >= share:
                break
            out = work / f"{stem}-chain{chain}"
            log = work / f"{out.name}.log"
            before: list = []
            for k in range(kills_per_chain):
                units = int(rng.integers(len(before), total))  # 0: during start-up
                extra = float(rng.uniform(0.0, 0.3))
                killed, seconds = _kill_at(job, out, log, units, extra)
                try:
                    now = job.state(out)
                    problems = _check(job.name, ref_state, now, before)
                except Exception as e:  # noqa: BLE001
                    now, problems = before, [f"unreadable after the kill: {type(e).__name__}: {str(e)[:200]}"]
                cases += killed
                killed_here += killed
                row = {"chain": chain, "kill": k, "waited_for_units": units, "extra_s": round(extra, 2),
                       "killed_running": killed, "units_on_disk": len(now), "seconds": round(seconds, 1)}
                if problems:
                    row["problems"] = problems
                    failures.append({"job": job.name, **row})
                rows.append(row)
                before = now if len(now) >= len(before) else before
                if not killed or len(before) >= total or killed_here >= share:
                    break
            _finish(job, out, log)
            final_ok = job.final(out) == ref_final
            rows.append({"chain": chain, "final_equals_reference": final_ok})
            if not final_ok:
                failures.append({"job": job.name, "chain": chain, "problems": ["the finished run differs from the reference"]})
        report[job.name] = {"reference_seconds": round(ref_s, 1), "units": total, "kills": killed_here, "runs": rows}
        print(f"  kill9 {job.name}: {killed_here} kills, "
              f"{sum(1 for f in failures if f['job'] == job.name)} failures", file=sys.stderr)
    return {
        "seed": seed, "jobs": report, "failures": failures,
        "reproduce": "reliability_kill9.kill9_section(seed, kills): the kill points are drawn in order from the seed",
        "summary": {"kill9_cases": cases, "kill9_lost_or_repeated": len(failures)},
    }
