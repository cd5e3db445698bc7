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

Four more sections probe bad input, each from a seeded generator in the bench (rerun any case from
the seed and index it names), counting outcomes of actual runs:

``tflite_mutants`` (reliability_tflite.py): damaged .tflite files through the importer, the
reference interpreter, the compiler and the host C build under AddressSanitizer/UBSan.
``board_files`` (reliability_boards.py): hostile and broken board TOML files through the loader,
the registry and ``edgenas boards``, with a canary that any command run by a compiler flag creates.
``cli_cases`` (reliability_cli.py): bad arguments and files to every command; a traceback fails.
``kill9`` (reliability_kill9.py): search, predictor collect and train killed at random moments and
resumed, against an uninterrupted run.

Sections run separately (``--sections``) merge into the one result file: a section not run now is
kept from the previous result with the provenance it was measured under. ``serial_noise`` needs
QEMU and about 15 minutes, so it runs only when named.

Failures whose fix belongs in a module this bench's author could not change are listed under
``known_failures`` (top level, gathered from the sections) with what to change, and still counted.

    python bench/reliability.py [--sections tflite_mutants,board_files,cli_cases,kill9] [--quick]
    python bench/reliability.py --sections serial_noise [--runs 20] [--seeds 3] [--rates 0.002,0.005]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, provenance, write_result  # noqa: E402

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


ROOT = Path(__file__).resolve().parent.parent
QUICK_RESULT = ROOT / "build" / "reliability" / "quick.json"
SECTIONS = ("tflite_mutants", "board_files", "cli_cases", "kill9", "serial_noise")
DEFAULT_SECTIONS = "tflite_mutants,board_files,cli_cases,kill9"


def _stamp(record: dict) -> dict:
    """Where a section's numbers come from: the commit, tree state, time and command of its run."""
    return {k: record[k] for k in ("git", "dirty", "dirty_files", "utc", "command") if k in record}


def _previous() -> dict:
    """The sections of the last result, each carrying the provenance it was measured under."""
    path = RESULTS_DIR / "reliability.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    kept = {}
    for name in SECTIONS:
        if name in old:
            kept[name] = {"measured": _stamp(old), **old[name]} if "measured" not in old[name] else old[name]
    return kept


def run_section(name: str, args: argparse.Namespace) -> dict:
    quick = args.quick
    if name == "tflite_mutants":
        from reliability_tflite import tflite_section

        return tflite_section(200 if quick else args.mutants, args.seed, 20 if quick else args.c_sample)
    if name == "board_files":
        from reliability_boards import board_section

        return board_section(args.seed, quick)
    if name == "cli_cases":
        from reliability_cli import cli_section

        return cli_section(args.seed, quick)
    if name == "kill9":
        from reliability_kill9 import kill9_section

        return kill9_section(args.seed, 4 if quick else args.kills)
    rates = [float(r) for r in args.rates.split(",")]
    if HEADLINE_RATE not in rates:
        rates.insert(0, HEADLINE_RATE)
    return serial_noise(args.runs, args.seeds, rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default=DEFAULT_SECTIONS, help=f"comma-separated, of {', '.join(SECTIONS)}")
    ap.add_argument("--quick", action="store_true",
                    help=f"small counts, to try the probes; writes {QUICK_RESULT.relative_to(ROOT)}, not the result")
    ap.add_argument("--seed", type=int, default=0, help="seed of every generator")
    ap.add_argument("--mutants", type=int, default=2400, help="tflite_mutants: distinct mutants")
    ap.add_argument("--c-sample", type=int, default=200, help="tflite_mutants: most distinct accepted models built")
    ap.add_argument("--kills", type=int, default=36, help="kill9: kill -9 cases")
    ap.add_argument("--runs", type=int, default=20, help="serial_noise: inputs per model and trial")
    ap.add_argument("--seeds", type=int, default=3, help="serial_noise: noise seeds per model and rate")
    ap.add_argument("--rates", default="0.002,0.005", help="serial_noise: per-byte rate of each fault kind")
    args = ap.parse_args()
    names = [n.strip() for n in args.sections.split(",") if n.strip()]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    sections = {} if args.quick else _previous()
    now = {k: v for k, v in provenance().items() if k in ("git", "dirty", "dirty_files", "utc", "command")}
    for name in names:
        t0 = time.monotonic()
        print(f"{name} ...", file=sys.stderr)
        sections[name] = {"measured": now, "quick": args.quick, **run_section(name, args),
                          "seconds": round(time.monotonic() - t0, 1)}
        print(f"{name}: {json.dumps(sections[name]['summary'])} in {sections[name]['seconds']} s", file=sys.stderr)
    summary = {k: v for name in SECTIONS if name in sections for k, v in sections[name]["summary"].items()}
    known = [{"section": name, **k} for name in SECTIONS if name in sections
             for k in sections[name].get("known_failures", [])]
    result = {**sections, "summary": summary, "known_failures": known}
    if args.quick:  # a try-out, not a measurement: kept out of bench/results and its history
        path = QUICK_RESULT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**provenance(), **result}, indent=2, sort_keys=True) + "\n")
    else:
        path = write_result("reliability", result)
    print(path)


if __name__ == "__main__":
    main()
