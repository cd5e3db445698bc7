"""Latency-table fidelity: predicted (sum of table entries + overhead) vs measured end to end.

For the emulated Cortex-M7 (mps2-an500, the shipped table) and the host CPU (fastest backend,
entries measured as needed), N random subnets of mcu-mbv2 are compiled and measured whole.
Writes bench/results/lut_fidelity.json and prints its path.

    python bench/lut_fidelity.py [--n-m7 30] [--n-host 20] [--seed 0]
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
from edgenas.space import get_space  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-m7", type=int, default=30)
    ap.add_argument("--n-host", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=("cortex-m7", "host"), help="re-measure one target, keep the other's results")
    args = ap.parse_args()
    result_path = RESULTS_DIR / "lut_fidelity.json"
    previous = json.loads(result_path.read_text()) if args.only and result_path.exists() else {}
    spec = get_space("mcu-mbv2")
    out: dict = {"space": spec.name, "seed": args.seed}
    for key in ("cortex-m7", "host"):
        if key in previous:  # kept from the earlier run, which its own git/utc fields no longer describe
            out[key] = {**previous[key], "kept_from": {"git": previous.get("git"), "utc": previous.get("utc")}}
    with tempfile.TemporaryDirectory(prefix="lut-fidelity-") as tmp:
        if args.only in (None, "cortex-m7"):
            out["cortex-m7"] = bench_m7(spec, args.n_m7, args.seed, Path(tmp))
        if args.only in (None, "host"):
            out["host"] = bench_host(spec, args.n_host, args.seed, Path(tmp))
    out["summary"] = {k: out[k]["summary"] for k in ("cortex-m7", "host") if k in out}
    print(write_result("lut_fidelity", out))


if __name__ == "__main__":
    main()
