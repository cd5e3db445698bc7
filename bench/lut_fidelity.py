"""Latency-table fidelity: predicted (sum of table entries + overhead) vs measured end to end.

For the emulated Cortex-M7 (mps2-an500, the shipped table), the host CPU (fastest backend,
entries measured as needed) and ARM64 Linux under qemu-aarch64 (the qemu-arm64 profile: edgenas's
C runner, wall-clock timed, so it measures the emulator on this host, not a Pi), N random subnets
of mcu-mbv2 are compiled and measured whole. The arm64 entry also measures how far apart repeated
runs of one and the same subnet land, the figure that says whether emulated time can be a table.
Writes bench/results/lut_fidelity.json and prints its path.

    python bench/lut_fidelity.py [--n-m7 30] [--n-host 30] [--n-arm64 10] [--seed 0] [--only arm64]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, write_result  # noqa: E402

from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.profile import default_table_path, get_profiler, open_table, validate  # noqa: E402
from edgenas.profile.host import choose_host_backend  # noqa: E402
from edgenas.profile.validate import random_archs  # noqa: E402
from edgenas.space import get_space  # noqa: E402


TARGETS = ("cortex-m7", "host", "arm64")


def bench_m7(spec, n: int, seed: int, tmp: Path) -> dict:
    """Emulated Cortex-M7 with the shipped table (entries a subnet lacks are measured into a copy)."""
    m7 = get_profiler("cortex-m7")
    shipped = default_table_path("cortex-m7")
    path = tmp / "m7.json"
    LatencyTable.load(shipped, fingerprint=m7.fingerprint()).save(path)
    t0 = time.time()
    rep = validate(m7, open_table(m7, spec, path), path, n, seed=seed)
    return {**rep.to_dict(), "board": m7.board, "table": shipped.name, "wall_s": round(time.time() - t0, 1)}


def bench_host(spec, n: int, seed: int, tmp: Path) -> dict:
    """Host CPU with the fastest backend; entries measured for the validated subnets."""
    t0 = time.time()
    backend, medians = choose_host_backend(spec, tmp / "choose", seed=seed)
    host = get_profiler("host", backend=backend)
    path = tmp / "host.json"
    rep = validate(host, open_table(host, spec, path), path, n, seed=seed)
    return {**rep.to_dict(), "backend_medians_ms": medians, "fingerprint": host.fingerprint(),
            "wall_s": round(time.time() - t0, 1)}


def bench_arm64(spec, n: int, seed: int, tmp: Path, repeat_runs: int = 5) -> dict:
    """qemu-aarch64 (qemu-arm64 profile): entries measured for the validated subnets, then one
    subnet measured ``repeat_runs`` more times, each a fresh build and emulator start."""
    t0 = time.time()
    arm = get_profiler("linux-arm64")
    path = tmp / "arm64.json"
    table = open_table(arm, spec, path)
    rep = validate(arm, table, path, n, seed=seed)
    arch = random_archs(table, 1, seed)[0]
    repeats = [arm.measure_arch(spec, arch, tmp / f"repeat{i}", seed=seed).latency for i in range(repeat_runs)]
    spread = {"arch": str(arch), "runs": repeat_runs, "latency_ms": repeats,
              "max_over_min": max(repeats) / min(repeats)}
    summary = rep.summary()
    usable = summary["within_10pct"] >= 0.8 and spread["max_over_min"] <= 1.1
    why = None if usable else (
        f"emulated wall time is not a device's latency: the same subnet measured {repeat_runs} times "
        f"under qemu-aarch64 spans {min(repeats):.2f}-{max(repeats):.2f} ms ({spread['max_over_min']:.2f}x), "
        f"and {summary['within_10pct']:.0%} of {summary['n']} subnets land within 10 % of their table sum; "
        "the path (build, run, table, validation) is exercised, the figures need a real board")
    return {**rep.to_dict(), "board": arm.board, "fingerprint": arm.fingerprint(), "repeat_spread": spread,
            "summary": {**summary, "usable_as_table": usable, "why_not": why}, "wall_s": round(time.time() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-m7", type=int, default=30)
    ap.add_argument("--n-host", type=int, default=30)
    ap.add_argument("--n-arm64", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=TARGETS, help="re-measure one target, keep the other's results")
    args = ap.parse_args()
    result_path = RESULTS_DIR / "lut_fidelity.json"
    previous = json.loads(result_path.read_text()) if args.only and result_path.exists() else {}
    spec = get_space("mcu-mbv2")
    out: dict = {"space": spec.name, "seed": args.seed}
    for key in TARGETS:
        if key in previous:  # kept from the earlier run, which its own git/utc fields no longer describe
            out[key] = {**previous[key], "kept_from": {k: previous.get(k) for k in ("git", "dirty", "utc")}}
    with tempfile.TemporaryDirectory(prefix="lut-fidelity-") as tmp:
        if args.only in (None, "cortex-m7"):
            out["cortex-m7"] = bench_m7(spec, args.n_m7, args.seed, Path(tmp))
        if args.only in (None, "host"):
            out["host"] = bench_host(spec, args.n_host, args.seed, Path(tmp))
        if args.only in (None, "arm64"):
            out["arm64"] = bench_arm64(spec, args.n_arm64, args.seed, Path(tmp))
    out["summary"] = {k: out[k]["summary"] for k in TARGETS if k in out}
    print(write_result("lut_fidelity", out))


if __name__ == "__main__":
    main()
