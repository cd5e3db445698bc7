"""Reliability of the deploy path when things go wrong. Writes ``bench/results/reliability.json``.

``serial_noise``: the real firmware in QEMU (mps2-an500) behind
:class:`edgenas.targets.noise.NoisyStream`, a pyserial-like wrapper that drops, duplicates and
flips one bit of bytes, each at ``rate`` per byte, in both directions (seeded per byte). Two
models: the harness test fixture (256-byte input, 16-byte output) and, when the MLPerf Tiny KWS
model is present, the generated DS-CNN (490-byte input, 12 layers). For each model, rate and seed,
one emulator serves a clean and a noisy client in turns (input i clean, then input i noisy), so a
busy machine slows both alike. Per run: the output against the reference (the fixture's Python
model, or the host build for KWS), or the DeviceError it raised.

Counts are from actual runs: ``wrong`` (an output that differs: must be 0), ``failed`` (a
DeviceError), ``slowdown`` (noisy seconds / clean seconds over the same inputs); also resends,
faults injected each way and the piece sizes the client settled on. The summary is for the
headline rate (0.2 % per fault kind, 0.6 % of bytes damaged each way); higher rates are listed too.

    python bench/reliability.py [--runs 20] [--seeds 3] [--rates 0.002,0.005]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.errors import DeviceError  # noqa: E402
from edgenas.targets.cortex_m import build_firmware  # noqa: E402
from edgenas.targets.cortex_m.qemu import ICOUNT_SHIFT, run_qemu  # noqa: E402
from edgenas.targets.cortex_m.testmodel import TESTMODEL_DIR, reference  # noqa: E402
from edgenas.targets.noise import NoiseRates, NoisyStream  # noqa: E402
from edgenas.targets.protocol import DeviceClient  # noqa: E402

BOARD = "mps2-an500"
HEADLINE_RATE = 0.002
KWS = Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite")


def _drain(link) -> None:  # noqa: ANN001
    """Read until the line is quiet, so late duplicates of one client's replies never reach the other."""
    link.timeout = 0.05
    while link.read(4096):
        pass


def _models(work: Path, runs: int) -> dict[str, tuple[Path, list[bytes], list[bytes]]]:
    """name -> (firmware ELF, inputs, expected outputs)."""
    board = get_board(BOARD)
    rng = np.random.default_rng(0)
    xs = [rng.integers(-128, 128, 256).astype(np.int8).tobytes() for _ in range(runs)]
    out = {"testmodel": (build_firmware(TESTMODEL_DIR, board, work / "fw-testmodel", with_runtime=False).elf,
                         xs, [reference(x) for x in xs])}
    if KWS.exists():
        from edgenas.deploy import build_host, compile_graph, read_tflite

        compile_graph(read_tflite(KWS), work / "kws")
        x = rng.integers(-128, 128, (runs, 490)).astype(np.int8)
        want = build_host(work / "kws").run(x)
        out["kws"] = (build_firmware(work / "kws", board, work / "fw-kws").elf,
                      [xi.tobytes() for xi in x], [w.tobytes() for w in want])
    return out


def trial(elf: Path, xs: list[bytes], want: list[bytes], rate: float, seed: int) -> dict:
    """Clean and noisy runs of every input in turns on one emulator."""
    clean_s = noisy_s = 0.0
    wrong = failed = 0
    errors: list[str] = []
    with run_qemu(elf, get_board(BOARD)) as link:
        stream = NoisyStream(link, up=NoiseRates.each(rate), down=NoiseRates.each(rate), seed=seed)
        clean = DeviceClient(link, icount_shift=ICOUNT_SHIFT)
        noisy = DeviceClient(stream, icount_shift=ICOUNT_SHIFT)
        for client in (clean, noisy):
            client.hello()
            _drain(link)
        for x, w in zip(xs, want):
            t0 = time.monotonic()
            if clean.run(x).output != w:
                raise SystemExit("a clean run gave a wrong output: the firmware or the reference is broken")
            clean_s += time.monotonic() - t0
            _drain(link)
            t0 = time.monotonic()
            try:
                wrong += noisy.run(x).output != w
            except DeviceError as e:
                failed += 1
                errors.append(str(e))
            noisy_s += time.monotonic() - t0
            _drain(link)
    assert noisy.up is not None and noisy.down is not None
    return {
        "runs": len(xs), "wrong": wrong, "failed": failed, "errors": errors[:5],
        "clean_s": round(clean_s, 3), "noisy_s": round(noisy_s, 3), "slowdown": round(noisy_s / clean_s, 3),
        "resends": noisy.resends, "faults_up": stream.up.counts.faults, "faults_down": stream.down.counts.faults,
        "bytes_up": stream.up.counts.bytes_seen, "bytes_down": stream.down.counts.bytes_seen,
        "input_piece_bytes": noisy.up.size(), "result_piece_bytes": noisy.down.size(),
    }


def serial_noise(runs: int, seeds: int, rates: list[float]) -> dict:
    with tempfile.TemporaryDirectory(prefix="edgenas-reliability-") as tmp:
        models = _models(Path(tmp), runs)
        table = []
        for rate in rates:
            for name, (elf, xs, want) in models.items():
                for seed in range(seeds):
                    r = trial(elf, xs, want, rate, seed=1000 * seed + 17)
                    table.append({"model": name, "rate_each_kind": rate, "seed": seed, **r})
                    print(f"{name:9s} rate {rate:.3f} seed {seed}: {r['wrong']} wrong, {r['failed']} failed "
                          f"of {r['runs']}, slowdown {r['slowdown']:.2f}x, {r['resends']} resends, "
                          f"pieces {r['input_piece_bytes']}/{r['result_piece_bytes']} B", file=sys.stderr)
    head = [t for t in table if t["rate_each_kind"] == HEADLINE_RATE]
    return {
        "board": BOARD,
        "models": sorted(models),
        "rates_each_kind": rates,
        "headline_rate_each_kind": HEADLINE_RATE,
        "trials": table,
        "summary": {
            "serial_noise_runs": sum(t["runs"] for t in head),
            "serial_noise_wrong": sum(t["wrong"] for t in head),
            "serial_noise_failed": sum(t["failed"] for t in head),
            "serial_noise_slowdown": round(sum(t["noisy_s"] for t in head) / sum(t["clean_s"] for t in head), 3),
            "serial_noise_slowdown_worst_trial": max(t["slowdown"] for t in head),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="inputs per model and trial")
    ap.add_argument("--seeds", type=int, default=3, help="noise seeds per model and rate")
    ap.add_argument("--rates", default="0.002,0.005", help="per-byte rate of each fault kind, comma-separated")
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    if HEADLINE_RATE not in rates:
        rates.insert(0, HEADLINE_RATE)
    noise = serial_noise(args.runs, args.seeds, rates)
    path = write_result("reliability", {"serial_noise": noise, "summary": noise["summary"]})
    print(path)


if __name__ == "__main__":
    main()
