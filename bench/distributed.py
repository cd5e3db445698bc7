"""Speed-up of the Ray pool over the serial one, for ``predictor collect`` and ``profile``.

Each workload runs twice from scratch, serially and on 2 workers (a local Ray cluster started
for the run; its start-up is inside the timed span, as a user pays it), and the outputs are
compared byte for byte (samples file) or entry for entry (latency table). The figures depend on
how busy the machine is: the load average before and after each run is kept beside them, and a
control measures how much faster two plain processes do a fixed CPU-bound job than one, right
before the runs (on a machine shared with other jobs the answer can be close to 1: then no pool
can be faster either). A second control does the collect workload itself in two plain forked
processes, no Ray: measuring subnets streams activations through memory, and two such processes
slow each other down where two spinning ones do not, so this is the ceiling a pool can reach for
collect on this machine (``collect_workload``; ``summary.collect_ceiling_2proc``).
Collect measures each subnet as ``edgenas predictor collect`` does by default (1,000 calibration
images, the whole validation split), so a task weighs what it weighs for a user.
Writes bench/results/distributed.json.

    python bench/distributed.py [--archs 24] [--entries 24] [--calib-images 1000] [--val-images 0]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.distributed import open_pool  # noqa: E402
from edgenas.estimate import arch_list, collect_samples, measure_accuracy  # noqa: E402
from edgenas.estimate.dataset import used_images  # noqa: E402
from edgenas.profile import build_table  # noqa: E402
from edgenas.profile.cortex_m import CortexMProfiler  # noqa: E402
from edgenas.space import get_space  # noqa: E402
from edgenas.supernet import load_supernet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402

def _spin(n: int) -> int:
    """A fixed amount of pure-Python CPU work (no I/O, no threads)."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def machine_parallelism(n: int = 15_000_000) -> dict:
    """Wall time of 2 units of CPU work on 1 process vs on 2 processes: the speed-up this machine
    gives two busy processes right now (2.0 on two idle cores)."""
    ctx = multiprocessing.get_context("fork")  # pure-Python work: forking after imports is safe
    with ctx.Pool(2) as pool:
        pool.map(_spin, [1000, 1000])  # the processes are up before timing
        started = time.perf_counter()
        pool.map(_spin, [n], chunksize=1)
        pool.map(_spin, [n], chunksize=1)
        one = time.perf_counter() - started
        started = time.perf_counter()
        pool.map(_spin, [n, n], chunksize=1)
        two = time.perf_counter() - started
    return {"one_process_s": one, "two_processes_s": two, "speedup_2proc": one / two}


_WORK: tuple = ()  # (net, data, calib_images, val_images) for the forked processes of collect_workload_parallelism


def _measure_all(archs: list) -> None:
    net, data, calib_images, val_images = _WORK
    for arch in archs:
        measure_accuracy(net, arch, data, calib_images=calib_images, val_images=val_images)


def collect_workload_parallelism(net, data, calib_images: int, val_images: int | None, n_archs: int = 40) -> dict:
    """Wall time of measuring ``n_archs`` subnets in 1 forked process vs split over 2 (no Ray,
    both warmed up first): the speed-up this machine gives the collect workload itself."""
    global _WORK
    _WORK = (net, data, calib_images, val_images)
    archs = arch_list(net.spec, n_archs + 2, seed=12)
    warm, archs = archs[:2], archs[2:]
    ctx = multiprocessing.get_context("fork")  # the children share the parent's net and data
    with ctx.Pool(2) as pool:
        pool.map(_measure_all, [warm[:1], warm[1:]], chunksize=1)
        started = time.perf_counter()
        pool.map(_measure_all, [archs], chunksize=1)
        one = time.perf_counter() - started
        started = time.perf_counter()
        pool.map(_measure_all, [archs[0::2], archs[1::2]], chunksize=1)
        two = time.perf_counter() - started
    _WORK = ()
    return {"archs": n_archs, "one_process_s": one, "two_processes_s": two, "speedup_2proc": one / two}


class _Recording:
    """A pool that keeps every result's run time (how long a task took on its worker)."""

    def __init__(self, pool) -> None:
        self.pool, self.workers, self.task_s = pool, pool.workers, []

    def map(self, job, tasks, *, watch=None):
        for done in self.pool.map(job, tasks, watch=watch):
            self.task_s.append(round(done.seconds, 3))
            yield done


def _timed(run, workers: int) -> dict:
    """Run ``run(pool)`` on a fresh pool of ``workers``; the pool's start is timed too."""
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    with open_pool(workers) as pool:
        opened = time.perf_counter()
        recording = _Recording(pool)
        run(recording)
    wall_s = time.perf_counter() - started
    return {"workers": workers, "wall_s": wall_s, "pool_start_s": opened - started, "task_s": recording.task_s,
            "task_s_sum": sum(recording.task_s), "busy_share": sum(recording.task_s) / (workers * wall_s),
            "load_avg_before": load_before, "load_avg_after": os.getloadavg()[0]}


def bench_collect(net, data, n_archs: int, calib_images: int, val_images: int | None, work: Path) -> dict:
    archs = arch_list(net.spec, n_archs, seed=11)
    runs, files = [], []
    for workers in (1, 2):
        path = work / f"collect-{workers}w.jsonl"

        def run(pool, path=path):
            collect_samples(net, data, path, archs=archs, calib_images=calib_images, val_images=val_images,
                            pool=pool, threads=1)

        runs.append(_timed(run, workers))
        files.append(path.read_bytes())
        print(runs[-1], flush=True)
    return {"archs": n_archs, "calib_images": used_images(len(data.train), calib_images),
            "val_images": used_images(len(data.val), val_images), "runs": runs,
            "speedup_2w": runs[0]["wall_s"] / runs[1]["wall_s"], "identical": files[0] == files[1]}


def bench_profile(n_entries: int, batch_size: int, work: Path) -> dict:
    spec = get_space("mcu-mbv2")
    prof = CortexMProfiler(get_board("mps2-an500"), batch_size=batch_size)
    runs, tables = [], []
    for workers in (1, 2):
        path = work / f"profile-{workers}w.json"

        def run(pool, path=path):
            tables.append(build_table(prof, spec, path, budget=n_entries, pool=pool).to_dict())

        runs.append(_timed(run, workers))
        print(runs[-1], flush=True)
    return {"board": prof.board, "entries": n_entries, "batch_size": batch_size,
            "firmwares": 1 + -(-n_entries // batch_size), "runs": runs,
            "speedup_2boards": runs[0]["wall_s"] / runs[1]["wall_s"], "identical": tables[0] == tables[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=24, help="subnets measured by collect")
    parser.add_argument("--entries", type=int, default=24, help="latency-table entries profiled")
    parser.add_argument("--batch-size", type=int, default=6, help="entries per firmware")
    parser.add_argument("--calib-images", type=int, default=1000, help="collect: BN calibration images per subnet")
    parser.add_argument("--val-images", type=int, default=0, help="collect: validation images per subnet (0: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="edgenas-bench-distributed-") as tmp:
        net, meta = load_supernet(bundled_supernet_dir())  # one load for the control and the runs
        data = load_recorded_dataset(meta)
        val_images = args.val_images or None
        control = {"before_collect": machine_parallelism(),
                   "collect_workload": collect_workload_parallelism(net, data, args.calib_images, val_images)}
        print(control, flush=True)
        collect = bench_collect(net, data, args.archs, args.calib_images, val_images, Path(tmp))
        control["before_profile"] = machine_parallelism()
        print(control, flush=True)
        profile = bench_profile(args.entries, args.batch_size, Path(tmp))
    summary = {"collect_speedup_2w": round(collect["speedup_2w"], 3),
               "collect_ceiling_2proc": round(control["collect_workload"]["speedup_2proc"], 3),
               "profile_speedup_2boards": round(profile["speedup_2boards"], 3),
               "identical_results": collect["identical"] and profile["identical"]}
    print(write_result("distributed", {"collect": collect, "profile": profile, "summary": summary,
                                       "machine_parallelism": control, "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
