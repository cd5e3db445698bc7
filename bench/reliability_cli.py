"""``cli_cases``: bad arguments and broken files handed to every command, as a careless user would.

The fixtures (:func:`make_fixtures`) are a folder of things that go wrong: a file where a folder
belongs, a folder where a file belongs, a path the OS will not create, a corrupt or truncated
``.tflite``, ``.npz``, ``.npy``, latency table, predictor ``.safetensors`` and sample file, and
supernet checkpoints whose ``supernet.json`` is broken or claims a million channels. The cases
(:func:`cases`) pair them with every command's options, together with out-of-range numbers,
malformed units and unknown names. Each runs through typer's CliRunner in a sandboxed worker
(a hang or crash is caught; the fixtures' folder is the working directory; ``{case}`` is a folder
of the case's own), and every
``SUBPROCESS_EVERY``-th also as a real ``edgenas`` process.

Failure (``cli_tracebacks``): a Python traceback in the output, or an exception other than the
CLI's own exit, or a crash. A case that runs past the timeout is listed apart (``timeouts``).
Exit 0 on bad input is listed (``accepted``) for a reader to judge; it is not counted as a failure.
After every case the fixtures must be as they were (``user_files_damaged``): no command may
change or delete a file it was not asked to write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from reliability_sandbox import Died, Sandbox

REPO = Path(__file__).resolve().parent.parent
SUBPROCESS_EVERY = 20
UNWRITABLE = "/sys/edgenas-probe/out"  # mkdir is refused there even for root
SN = "{ws}/sn"  # a copy of the bundled supernet


# Failures whose fix belongs in a module this bench may not change now (other engineers are
# changing edgenas/supernet/ and cli/commands_predictor.py): matched on the end of a case's
# arguments, still counted in cli_tracebacks.
KNOWN_FAILURES = {
    ("--threads", "0"): {
        "what": "predictor collect --threads 0: RuntimeError from torch.set_num_threads (a traceback)",
        "fix": "edgenas/cli/commands_predictor.py collect: refuse --threads below 1 as a UsageError",
    },
    ("--samples", "{case}/pc", "--seed", "-1"): {
        "what": "predictor collect --seed -1: numpy ValueError (a traceback)",
        "fix": "edgenas/cli/commands_predictor.py collect: refuse a negative --seed as a UsageError",
    },
    ("--supernet", "{ws}/sn_notable"): {
        "what": "a supernet.json that is a JSON list: TypeError at meta['space'] (a traceback)",
        "fix": "edgenas/supernet/checkpoint.py load_meta: a CheckpointError unless the JSON is an object with a "
               "`space` table (every caller indexes meta['space'])",
    },
    ("--supernet", "{ws}/sn_nospace"): {
        "what": "a supernet.json without `space`: KeyError 'space' (a traceback), in subnet and extract",
        "fix": "as for sn_notable: load_meta checks the `space` table",
    },
    ("--supernet", "{ws}/sn_otherspace"): {
        "what": "a supernet.json whose (valid) space does not match the weights: torch's RuntimeError from "
                "load_state_dict listing every size mismatch (a traceback)",
        "fix": "edgenas/supernet/checkpoint.py load_weights: a CheckpointError naming the first mismatched tensor",
    },
}


def _known(case: tuple[str, ...]) -> dict | None:
    for tail, info in KNOWN_FAILURES.items():
        if case[-len(tail):] == tail:
            return info
    return None


def make_fixtures(ws: Path) -> None:
    """Write the broken files every case refers to as ``{ws}/...``."""
    from edgenas.deploy.tflite_writer import write_tflite
    from edgenas.paths import PREDICTORS_DIR, SUPERNETS_DIR

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from reliability_models import conv_mean

    rng = np.random.default_rng(7)
    shutil.rmtree(ws, ignore_errors=True)
    ws.mkdir(parents=True)
    (ws / "afile").write_text("mine\n")
    (ws / "emptydir").mkdir()
    (ws / "good.tflite").write_bytes(write_tflite(conv_mean()))
    (ws / "bad.tflite").write_bytes(rng.bytes(3000))
    (ws / "empty.tflite").write_bytes(b"")
    (ws / "cut.tflite").write_bytes((ws / "good.tflite").read_bytes()[:700])
    (ws / "bad.npz").write_bytes(rng.bytes(500))
    np.savez(ws / "wrong_keys.npz", a=np.zeros(3))
    np.savez(ws / "nan.npz", x_train=np.full((20, 28, 28), np.nan, np.float32), y_train=np.zeros(20, np.int64),
             x_test=np.zeros((4, 28, 28), np.float32), y_test=np.zeros(4, np.int64))
    np.savez(ws / "labels_only.npz", x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.arange(5) * 1000,
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.int64))
    (ws / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(ws / "float.npy", np.zeros((2, 5, 7, 2), np.float64))
    np.save(ws / "wrong_shape.npy", np.zeros((3, 11), np.int8))
    np.save(ws / "empty_rows.npy", np.zeros((0, 70), np.int8))
    (ws / "table_corrupt.json").write_text('{"entries": [1, 2')
    (ws / "table_list.json").write_text("[]")
    (ws / "table_wrong.json").write_text(json.dumps({"schema": 1, "entries": {"x": "y"}, "unit": "furlongs"}))
    (ws / "table_dir").mkdir()
    (ws / "table_binary.json").write_bytes(rng.bytes(300))
    (ws / "images").mkdir()
    (ws / "images" / "cat").mkdir()
    (ws / "images" / "cat" / "x.png").write_bytes(b"not a png")
    shutil.copytree(SUPERNETS_DIR / "fashion-mnist", ws / "sn")
    for name, edit in (("absurd", _million_channels), ("badjson", lambda t: "{"), ("notable", lambda t: "[1, 2]"),
                       ("nospace", _drop_space), ("negative", _negative_channels), ("otherspace", _other_channels)):
        d = ws / f"sn_{name}"
        d.mkdir()
        for f in ("supernet.safetensors", "teacher.safetensors"):
            os.symlink(ws / "sn" / f, d / f)
        (d / "supernet.json").write_text(edit((ws / "sn" / "supernet.json").read_text()))
    d = ws / "sn_corrupt"
    shutil.copytree(ws / "sn", d, symlinks=True)
    (d / "supernet.safetensors").write_bytes(rng.bytes(4096))
    d = ws / "sn_truncated"
    shutil.copytree(ws / "sn", d, symlinks=True)
    (d / "supernet.safetensors").write_bytes((ws / "sn" / "supernet.safetensors").read_bytes()[:50_000])
    for name, data in (("corrupt", rng.bytes(2048)), ("empty", b""), ("header_lie", b"\xff" * 8 + b"{}")):
        d = ws / f"pred_{name}"
        shutil.copytree(PREDICTORS_DIR / "fashion-mnist", d)
        (d / "predictor.safetensors").write_bytes(data)
    d = ws / "pred_badjson"
    shutil.copytree(PREDICTORS_DIR / "fashion-mnist", d)
    (d / "predictor.json").write_text("{not json")
    (ws / "samples_bad").mkdir()
    (ws / "samples_bad" / "samples-0of1.jsonl").write_text('{"arch": "nope", "acc": "high"}\n{broken\n')
    (ws / "samples_empty").mkdir()
    (ws / "search_bad").mkdir()
    (ws / "search_bad" / "trials.json").write_text("{")
    (ws / "report_bad").mkdir()
    (ws / "report_bad" / "memory.json").write_text("{")
    (ws / "report_bad" / "search.json").write_text("[]")
    (ws / "store.db").write_bytes(b"SQLite format 3\x00" + rng.bytes(1000))


def _million_channels(text: str) -> str:
    d = json.loads(text)
    for s in d["space"]["stages"]:
        s["channels"] = 1_000_000
    d["space"]["head_channels"] = 1_000_000
    return json.dumps(d)


def _negative_channels(text: str) -> str:
    d = json.loads(text)
    d["space"]["first_channels"] = -16
    d["space"]["resolutions"] = [0]
    return json.dumps(d)


def _other_channels(text: str) -> str:
    """A valid space, but not the one the weights were trained for."""
    d = json.loads(text)
    d["space"]["stages"][0]["channels"] = 32
    return json.dumps(d)


def _drop_space(text: str) -> str:
    d = json.loads(text)
    del d["space"]
    return json.dumps(d)


OUT = "--out"
# Each case is a short, valid command plus one bad part (click keeps the last value of a repeated
# option), so a case whose bad part slips through finishes in seconds instead of running for hours.
TRAIN = ("train", "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,0,0,0", "--threads", "1", "--quiet",
         OUT, "{case}/t")
SUBNET = ("subnet", "--arch", "largest", "--no-evaluate", OUT, "{case}/o")
SEARCH = ("search", "--target", "cortex-m7", "--budget", "4", "--quiet", OUT, "{case}/s")
EXTRACT = ("extract", "--target", "cortex-m7", "--generations", "1", "--eval-images", "16", "--baseline-epochs", "-1",
           "--verify-inputs", "1", "--quiet", OUT, "{case}/x")
COLLECT = ("predictor", "collect", "--count", "2", "--val-images", "16", "--calib-images", "16", "--quiet",
           "--samples", "{case}/pc")
FIT = ("predictor", "fit", OUT, "{case}/pf")
PROFILE = ("profile", "--target", "cortex-m7", "--budget", "0", "--quiet", "--table", "{case}/pt.json")
RUN = ("run", "{ws}/compiled")
COMPILE = ("compile", "{ws}/good.tflite", OUT, "{case}/cc")
CASES: tuple[tuple[str, ...], ...] = (
    # space / boards
    ("space", "--space", "nope"), ("space", "--channels", "0"), ("space", "--channels", "-3"),
    ("space", "--classes", "1"), ("space", "--classes", "0"), ("space", "--channels", "1000000000"),
    ("space", "--classes", "x"), ("boards", "show", "nope"), ("boards", "show", ""), ("boards", "show", "../../etc"),
    ("nope",), ("--version",), ("",),
    # train
    (*TRAIN, "--batch-size", "0"), (*TRAIN, "--batch-size", "-5"), (*TRAIN, "--subnets", "0"), (*TRAIN, "--epochs", "x"),
    (*TRAIN, "--epochs", "1,2"), (*TRAIN, "--epochs", "-1,0,0,0"), (*TRAIN, "--epochs", "0,0,0,0"),
    (*TRAIN, "--epochs", "1e9,0,0,0"), (*TRAIN, "--lr-scale", "0"), (*TRAIN, "--lr-scale", "nan"),
    (*TRAIN, "--lr-scale", "-1"), (*TRAIN, "--lr-scale", "inf"), (*TRAIN, "--threads", "-1"),
    (*TRAIN, "--device", "nope"), (*TRAIN, "--device", "cuda:99"), (*TRAIN, "--data", "{ws}/missing.npz"),
    (*TRAIN, "--data", "{ws}/bad.npz"), (*TRAIN, "--data", "{ws}/wrong_keys.npz"), (*TRAIN, "--data", "{ws}/emptydir"),
    (*TRAIN, "--data", "{ws}/images"), (*TRAIN, "--data", "{ws}/afile"), (*TRAIN, "--data", "{ws}/labels_only.npz"),
    (*TRAIN, "--space", "nope"), (*TRAIN, OUT, "{ws}/afile"), (*TRAIN, OUT, UNWRITABLE), (*TRAIN, OUT, "{ws}/afile/sub"),
    (*TRAIN, "--init-from", "{ws}/afile"), (*TRAIN, "--init-from", "{ws}/emptydir"),
    (*TRAIN, "--epochs", "0,0,0,1", "--init-from", "{ws}/sn_absurd"),
    (*TRAIN, "--epochs", "0,0,0,1", "--init-from", "{ws}/sn_badjson"),
    (*TRAIN, "--teacher", "{ws}/sn_corrupt"), (*TRAIN, "--teacher", "{ws}/emptydir"), (*TRAIN, "--transfer-from", "nope"),
    (*TRAIN, "--data-seed", "-1"), (*TRAIN, "--seed", "-1"), (*TRAIN, "--data", "{ws}/nan.npz"),
    # subnet
    (*SUBNET, "--arch", "nope"), (*SUBNET, "--arch", ""), (*SUBNET, "--arch", "r99|w9|k9e9"), (*SUBNET, OUT, "{ws}/afile"),
    (*SUBNET, OUT, UNWRITABLE), (*SUBNET, "--supernet", "{ws}/sn_absurd"), (*SUBNET, "--supernet", "{ws}/sn_badjson"),
    (*SUBNET, "--supernet", "{ws}/sn_notable"), (*SUBNET, "--supernet", "{ws}/sn_nospace"),
    (*SUBNET, "--supernet", "{ws}/sn_negative"), (*SUBNET, "--supernet", "{ws}/sn_corrupt"),
    (*SUBNET, "--supernet", "{ws}/sn_truncated"), (*SUBNET, "--supernet", "{ws}/afile"),
    (*SUBNET, "--supernet", "{ws}/emptydir"), (*SUBNET, "--data", "{ws}/bad.npz"),
    (*SUBNET, "--supernet", "{ws}/sn_otherspace"),
    # compile
    (*COMPILE[:1], "{ws}/bad.tflite", OUT, "{ws}/c1"), (*COMPILE[:1], "{ws}/empty.tflite", OUT, "{ws}/c2"),
    (*COMPILE[:1], "{ws}/cut.tflite", OUT, "{ws}/c3"), (*COMPILE[:1], "{ws}/missing.tflite", OUT, "{ws}/c4"),
    (*COMPILE[:1], "{ws}/emptydir", OUT, "{ws}/c5"), (*COMPILE, OUT, "{ws}/afile"), (*COMPILE, OUT, UNWRITABLE),
    (*COMPILE[:1], "{ws}/afile", OUT, "{ws}/c6"), (*COMPILE, "--calib-images", "-1"), (*COMPILE, "--eval-images", "-5"),
    (*COMPILE[:1], "{ws}/sn_absurd", OUT, "{ws}/c9"), (*COMPILE[:1], "{ws}/sn", OUT, "{ws}/c10"),
    (*COMPILE, OUT, "{ws}/compiled"), (*COMPILE, OUT, "{ws}/images"),
    # run / flash / report
    ("run", "{ws}/emptydir"), ("run", "{ws}/missing"), ("run", "{ws}/afile"), (*RUN, "--board", "nope"),
    (*RUN, "--target", "nope"), (*RUN, "--opt", "-O9"), (*RUN, "--inputs", "0"), (*RUN, "--inputs", "-1"),
    (*RUN, "--input", "{ws}/bad.npy"), (*RUN, "--input", "{ws}/float.npy"), (*RUN, "--input", "{ws}/wrong_shape.npy"),
    (*RUN, "--input", "{ws}/empty_rows.npy"), (*RUN, "--input", "{ws}/missing.npy"), (*RUN, "--board", "{ws}/afile"),
    (*RUN, "--board", "mps2-an500", "--target", "cortex-m4"), (*RUN, "--seed", "-1"),
    ("flash", "{ws}/emptydir"), ("flash", "{ws}/compiled", "--board", "mps2-an500"), ("flash", "{ws}/compiled", "--board", "nope"),
    ("report", "{ws}/emptydir"), ("report", "{ws}/missing"), ("report", "{ws}/afile"), ("report", "{ws}/report_bad"),
    ("report", "{ws}/search_bad"),
    # search
    (*SEARCH, "--strategy", "nope"), (*SEARCH, "--objective", "nope"), (*SEARCH, "--constraint", "ram"),
    (*SEARCH, "--constraint", "ram="), (*SEARCH, "--constraint", "ram=-1KB"), (*SEARCH, "--constraint", "ram=nanKB"),
    (*SEARCH, "--constraint", "ram=1e308GB"), (*SEARCH, "--constraint", "volume=3"),
    (*SEARCH, "--constraint", "latency=50ms"), (*SEARCH, "--constraint", "ram=0"), (*SEARCH, "--constraint", "ram=infKB"),
    (*SEARCH, "--budget", "0"), (*SEARCH, "--budget", "-1"), (*SEARCH, "--batch", "0"), (*SEARCH, "--batch", "-2"),
    (*SEARCH, "--table", "{ws}/table_dir"), (*SEARCH, "--table", "{ws}/table_corrupt.json"),
    (*SEARCH, "--table", "{ws}/table_list.json"), (*SEARCH, "--table", "{ws}/table_wrong.json"),
    (*SEARCH, "--table", "{ws}/missing.json"), (*SEARCH, "--table", "{ws}/table_binary.json"), (*SEARCH, "--store", f"sqlite:///{UNWRITABLE}/x.db"),
    (*SEARCH, "--store", "{ws}/afile"), (*SEARCH, "--store", "{ws}/store.db"), (*SEARCH, "--store", "{ws}/emptydir"),
    (*SEARCH, "--warm-start", "{ws}/afile"), (*SEARCH, "--warm-start", "{ws}/emptydir"),
    (*SEARCH, "--warm-start", "{ws}/search_bad"), (*SEARCH, "--target", "nope"), (*SEARCH, "--target", "host"),
    (*SEARCH, "--board", "nope"), (*SEARCH, OUT, "{ws}/afile"), (*SEARCH, OUT, UNWRITABLE), (*SEARCH, "--estimator", "nope"),
    (*SEARCH, "--predictor", "{ws}/pred_corrupt"), (*SEARCH, "--predictor", "{ws}/pred_empty"),
    (*SEARCH, "--predictor", "{ws}/pred_header_lie"), (*SEARCH, "--predictor", "{ws}/pred_badjson"),
    (*SEARCH, "--predictor", "{ws}/emptydir"), (*SEARCH, "--supernet", "{ws}/sn_absurd"),
    (*SEARCH, "--supernet", "{ws}/sn_badjson"), (*SEARCH, "--estimator", "inherited", "--supernet", "{ws}/sn_corrupt"),
    (*SEARCH, "--seed", "-1"), (*SEARCH, "--run", "../../x"),
    # extract
    (*EXTRACT, "--ram", "0"), (*EXTRACT, "--ram", "-1KB"), (*EXTRACT, "--ram", "abc"), (*EXTRACT, "--flash", "1e308GB"),
    (*EXTRACT, "--latency", "50ms"), (*EXTRACT, "--latency", "5Mfoo"), (*EXTRACT, "--macs", "x"), (*EXTRACT, "--ram", "1B"),
    (*EXTRACT, "--params", "-5K"), (*EXTRACT, "--generations", "0"), (*EXTRACT, "--generations", "-1"),
    (*EXTRACT, "--eval-images", "-1"), (*EXTRACT, "--verify-inputs", "-1"), (*EXTRACT, "--opt", "-O9"),
    (*EXTRACT, "--fitness", "nope"), (*EXTRACT, "--table", "{ws}/table_dir"), (*EXTRACT, "--table", "{ws}/table_corrupt.json"),
    (*EXTRACT, "--predictor", "{ws}/pred_corrupt"), (*EXTRACT, "--supernet", "{ws}/sn_absurd"),
    (*EXTRACT, "--supernet", "{ws}/sn_nospace"), (*EXTRACT, OUT, "{ws}/afile"), (*EXTRACT, OUT, UNWRITABLE),
    (*EXTRACT, "--target", "nope"), ("extract", "--board", "nope"), (*EXTRACT, "--board", "mps2-an386"),
    (*EXTRACT, "--data", "{ws}/bad.npz"), (*EXTRACT, "--data", "{ws}/missing.npz"), (*EXTRACT, "--finetune-epochs", "-1"),
    (*EXTRACT, "--warm-start", "{ws}/afile"), (*EXTRACT, "--seed", "-1"), (*EXTRACT, "--adapt-steps", "0"),
    # predictor
    (*COLLECT, "--count", "0"), (*COLLECT, "--count", "-1"), (*COLLECT, "--shard", "2/1"), (*COLLECT, "--shard", "x"),
    (*COLLECT, "--shard", "0/0"), (*COLLECT, "--val-images", "-1"), (*COLLECT, "--calib-images", "-1"),
    (*COLLECT, "--threads", "0"), (*COLLECT, "--workers", "0"), (*COLLECT, "--samples", "{ws}/afile"),
    (*COLLECT, "--supernet", "{ws}/sn_absurd"), (*COLLECT, "--supernet", "{ws}/sn_corrupt"), (*COLLECT, "--seed", "-1"),
    (*COLLECT, "--data", "{ws}/bad.npz"),
    (*FIT, "--samples", "{ws}/samples_empty"), (*FIT, "--samples", "{ws}/samples_bad"), (*FIT, "--holdout", "1.5"),
    (*FIT, "--holdout", "nan"), (*FIT, "--samples", "{ws}/missing"), (*FIT, OUT, "{ws}/afile"), (*FIT, "--seed", "-1"),
    (*FIT, "--supernet", "{ws}/sn_absurd"),
    # profile
    (*PROFILE, "--target", "nope"), (*PROFILE, "--budget", "-1"), (*PROFILE, "--table", "{ws}/table_dir"),
    (*PROFILE, "--table", "{ws}/table_corrupt.json"), (*PROFILE, "--table", "{ws}/table_wrong.json"),
    (*PROFILE, "--validate", "-1"), (*PROFILE, "--channels", "0"), (*PROFILE, "--classes", "0"), (*PROFILE, "--workers", "0"),
    (*PROFILE, "--target", "android"), (*PROFILE, "--target", "linux-arm64", "--ssh", "x;reboot"),
    (*PROFILE, "--target", "linux-rpc", "--rpc", "nohost"), (*PROFILE, "--space", "nope"), (*PROFILE, "--seed", "-1"),
    (*PROFILE, "--board", "nope"),
)


def invoke(args: list[str], cwd: str) -> dict:
    """One CliRunner run (in the sandbox worker): exit code, traceback, the output's tail."""
    import traceback

    from typer.testing import CliRunner

    from edgenas.boards import registry
    from edgenas.cli import app

    os.chdir(cwd)
    registry._default = None
    r = CliRunner().invoke(app, args)
    text = r.stdout + r.stderr
    exc = r.exception
    uncaught = exc is not None and not isinstance(exc, SystemExit)
    tb = "Traceback (most recent call last)" in text or uncaught
    return {"exit": r.exit_code, "traceback": tb, "tail": text.strip()[-300:],
            **({"exception": f"{type(exc).__name__}: {str(exc)[:200]}",
                "where": "".join(traceback.format_tb(exc.__traceback__)[-2:])[-600:]} if uncaught else {})}


def _subprocess(args: list[str], cwd: Path, timeout_s: float) -> dict:
    exe = Path(sys.executable).parent / "edgenas"
    try:
        p = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                           env={**os.environ, "COLUMNS": "120"})
    except subprocess.TimeoutExpired:
        return {"exit": None, "traceback": False, "tail": "timeout"}
    text = p.stdout + p.stderr
    return {"exit": p.returncode, "traceback": "Traceback (most recent call last)" in text, "tail": text.strip()[-300:]}


def _snapshot(ws: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every fixture file: the user's files, which no case may change."""
    out = {}
    for path in ws.rglob("*"):
        rel = path.relative_to(ws).as_posix()
        if path.is_file() and not path.is_symlink() and not rel.startswith(("cases/", "compiled/")):
            st = path.stat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def _changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    return sorted(k for k, v in before.items() if after.get(k) != v)


def cli_section(seed: int, quick: bool = False, timeout_s: float = 150.0) -> dict:
    """Run every case; returns the section with its ``summary``. (``seed`` only names the fixtures' data.)"""
    t0 = time.monotonic()
    ws = REPO / "build" / "reliability" / "cli"
    make_fixtures(ws)
    os.environ["EDGENAS_BOARDS_DIR"] = str(ws / "emptydir")  # no user boards: only what a case brings
    box = Sandbox("reliability_cli", "invoke", timeout_s)
    chosen = CASES[::5] if quick else CASES
    rows, tracebacks, timeouts, accepted = [], [], [], []
    damaged: list[dict] = []
    try:
        setup = box.call(["compile", str(ws / "good.tflite"), "--out", str(ws / "compiled")], str(ws))
        if isinstance(setup, Died) or setup["exit"] != 0:
            raise SystemExit(f"fixture compile failed: {setup}")
        kept = _snapshot(ws)
        for i, case in enumerate(chosen):
            folder = ws / "cases" / f"{i:03d}"  # each case writes its own outputs: no case sees another's
            folder.mkdir(parents=True)
            args = [a.replace("{ws}", str(ws)).replace("{case}", str(folder)) for a in case]
            started = time.monotonic()
            r = box.call(args, str(ws))
            row = {"index": i, "args": list(case), "seconds": round(time.monotonic() - started, 1)}
            if isinstance(r, Died):
                row.update(exit=None, died=r.what, exit_code=r.exit_code)
                (timeouts if r.what == "hang" else tracebacks).append(row)
            else:
                row.update(r)
                if r["traceback"]:
                    tracebacks.append(row)
                elif r["exit"] == 0:
                    accepted.append(row)
            if i % SUBPROCESS_EVERY == 0:
                s = _subprocess(args, ws, timeout_s)
                row["subprocess"] = s
                if s["traceback"] and row not in tracebacks:
                    tracebacks.append(row)
            if known := _known(case):
                row["known_failure"] = known["fix"]
            if changed := _changed(kept, _snapshot(ws)):
                damaged.append({"args": list(case), "files": changed[:5]})
                kept = _snapshot(ws)
            rows.append(row)
            print(f"  cli {i + 1}/{len(chosen)} exit {row.get('exit')} ...{' '.join(case)[-80:]}", file=sys.stderr)
    finally:
        box.close()
    exits: dict[str, int] = {}
    for row in rows:
        key = "timeout" if row.get("died") == "hang" else str(row.get("exit"))
        exits[key] = exits.get(key, 0) + 1
    found = [t for t in tracebacks if "known_failure" in t]
    return {
        "cases": len(rows), "exit_codes": exits, "tracebacks": tracebacks, "timeouts": timeouts,
        "user_files_damaged": damaged,
        "known_failures": [{"args": list(tail), **info} for tail, info in KNOWN_FAILURES.items()
                           if any(_known(tuple(t["args"])) is info for t in found)],
        "accepted": [{"args": r["args"], "tail": r.get("tail", "")[-160:]} for r in accepted],
        "subprocess_every": SUBPROCESS_EVERY, "timeout_s": timeout_s,
        "slowest": sorted(((r["seconds"], " ".join(r["args"])) for r in rows), reverse=True)[:8],
        "seconds": round(time.monotonic() - t0, 1),
        "summary": {"cli_cases": len(rows), "cli_tracebacks": len(tracebacks), "cli_tracebacks_known": len(found),
                    "cli_timeouts": len(timeouts), "cli_user_files_damaged": len(damaged),
                    "cli_subprocess_runs": sum(1 for r in rows if "subprocess" in r)},
    }
