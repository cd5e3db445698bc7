"""``tflite_mutants``: damaged models through the importer, and accepted ones through the C build.

Every mutant (bench/reliability_mutate.py) goes to a sandboxed worker that parses it, runs the
int8 reference interpreter on seeded inputs and compiles it to C. Clean means the worker
answered, and any exception was one of edgenas's own (``EdgenasError``); anything else, a hang or
a crash is ``unclean``, listed with the mutant's index so it can be made again.

An accepted mutant that compiles is then built for the host twice, as ``edgenas run --check``'s
host twin: with AddressSanitizer/UBSan (``build_host(sanitize=True)``) and as the guarded,
painted build deployments use. Each build runs the same inputs; a sanitizer report is an
``asan_error``, and an output that differs from the reference while the run says it succeeded
is a ``wrong_success``. Builds are keyed by the generated C, so duplicates cost nothing; when
there are more distinct accepted models than ``c_sample``, every one whose structure differs
from its base is built and weight-only changes are sampled (the counts say how many ran).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from reliability_mutate import Mutant, mutant, mutants
from reliability_models import base_models
from reliability_sandbox import Died, Sandbox

INPUTS = 3
C_TIMEOUT_S = 60.0
# A sanitizer's report of a bad access or undefined behaviour (not its start-up complaints).
_SANITIZER_REPORT = re.compile(r"SUMMARY: (Address|UndefinedBehavior)Sanitizer|runtime error: ")


def _signature(graph: Any) -> str:  # noqa: ANN401 (edgenas Graph)
    """Everything about a graph but its constants' values: ops, attributes, shapes, dtypes, quantisation."""
    parts = [repr((graph.inputs, graph.outputs))]
    parts += [repr((op.kind, op.inputs, op.outputs, sorted(op.attrs.items()))) for op in graph.ops]
    parts += [repr((t.name, t.shape, t.dtype, t.quant, t.is_const)) for t in graph.tensors.values()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def probe(data: bytes, work: str, seed: int) -> dict:
    """Parse, reference-run and compile one model (runs in the sandbox worker).

    Returns a dict with ``stage`` (where it stopped: read, reference, compile or done),
    ``error`` (exception type) and, for unclean errors, ``message`` and ``traceback``.
    """
    from edgenas.deploy import compile_graph, read_tflite, run_reference
    from edgenas.errors import EdgenasError

    out: dict[str, Any] = {"stage": "read"}
    try:
        graph = read_tflite(data)
        out.update(stage="reference", signature=_signature(graph))
        shape = graph.tensors[graph.inputs[0]].shape
        x = np.random.default_rng(seed).integers(-128, 128, (INPUTS, *shape[1:]), dtype=np.int8)
        want = run_reference(graph, x)
        out.update(stage="compile", x=x.tobytes(), want=np.asarray(want, dtype=np.int8).tobytes())
        model_dir = Path(work) / hashlib.sha256(data).hexdigest()[:16]
        compile_graph(graph, model_dir)
        out.update(stage="done", model_dir=str(model_dir),
                   model_c=hashlib.sha256((model_dir / "model.c").read_bytes()).hexdigest()[:16])
    except EdgenasError as e:
        out.update(error=type(e).__name__, clean=True, **({} if out["stage"] == "read" else {"message": str(e)[:300]}))
    except BaseException as e:  # noqa: BLE001 (every other exception is the finding)
        out.update(error=type(e).__name__, clean=False, message=str(e)[:500],
                   traceback=traceback.format_exc()[-2000:])
    return out


def _c_run(model_dir: Path, x: np.ndarray, want: bytes, build_root: Path, sanitize: bool) -> str:
    """One host build and run: ``ok``, ``wrong_success``, ``asan_error``, or the edgenas error's name."""
    from edgenas.deploy import build_host
    from edgenas.errors import EdgenasError

    try:
        got = build_host(model_dir, build_root=build_root, sanitize=sanitize).run(x, timeout_s=C_TIMEOUT_S)
    except EdgenasError as e:
        return "asan_error" if _SANITIZER_REPORT.search(str(e)) else type(e).__name__
    return "ok" if got.tobytes() == want else "wrong_success"


_END = "    (void)st;\n    return (int)EN_OK;"
CONTROLS = {
    # A byte past the arena (what the (1,128) -> (7,128) mutant did): ASan must report it.
    # ASan must report it (and the guarded build's arena guard too).
    "overrun": ("    *(volatile uint8_t *)((uintptr_t)en_arena + EN_ARENA_BYTES) = 0x42;\n",
                {"asan": "asan_error", "guarded": "ArenaOverrunError"}),
    # A wrong answer from a run that says it succeeded: the comparison must see it in both builds.
    "wrong_output": ("    out[0] = (int8_t)(out[0] ^ 1);\n", {"asan": "wrong_success", "guarded": "wrong_success"}),
}


def controls(model_dir: Path, x: np.ndarray, want: bytes, build_root: Path) -> dict[str, dict]:
    """Break a good compiled model on purpose and check the C checks say so (else 0 proves nothing)."""
    out = {}
    for name, (line, expect) in CONTROLS.items():
        broken = model_dir.parent / f"{model_dir.name}-control-{name}"
        shutil.rmtree(broken, ignore_errors=True)
        shutil.copytree(model_dir, broken)
        c = (broken / "model.c").read_text()
        if _END not in c:
            raise SystemExit("the generated model.c no longer ends as the controls expect; update reliability_tflite._END")
        (broken / "model.c").write_text(c.replace(_END, line + _END))
        got = {b: _c_run(broken, x, want, build_root, b == "asan") for b in ("asan", "guarded")}
        out[name] = {"got": got, "expected": expect}
    return out


def _c_checks(accepted: list[dict], c_sample: int, seed: int, build_root: Path) -> dict:
    """Host builds of distinct accepted models: every structural change, then a sample of the rest."""
    distinct: dict[str, dict] = {}
    for r in accepted:
        distinct.setdefault(r["model_c"], r)
    rows = list(distinct.values())
    structural = [r for r in rows if r["structural"]]
    rest = [r for r in rows if not r["structural"]]
    rng = np.random.default_rng(seed)
    room = max(0, c_sample - len(structural))
    picked = structural + [rest[i] for i in sorted(rng.permutation(len(rest))[:room])]
    counts: Counter[str] = Counter()
    findings = []
    for i, r in enumerate(picked):
        x = np.frombuffer(r["x"], dtype=np.int8).reshape(INPUTS, -1)
        for sanitize in (True, False):
            what = _c_run(Path(r["model_dir"]), x, r["want"], build_root, sanitize)
            counts[f"{'asan' if sanitize else 'guarded'}:{what}"] += 1
            if what in ("asan_error", "wrong_success"):
                findings.append({**_repro(r), "build": "asan" if sanitize else "guarded", "result": what})
        if (i + 1) % 25 == 0:
            print(f"  c builds {i + 1}/{len(picked)}", file=sys.stderr)
    return {
        "distinct_accepted_compiled": len(rows), "distinct_structural": len(structural),
        "c_checked": len(picked), "c_checked_structural": len(structural),
        "results": dict(sorted(counts.items())), "findings": findings,
        "asan_errors": sum(1 for f in findings if f["result"] == "asan_error"),
        "wrong_success": sum(1 for f in findings if f["result"] == "wrong_success"),
    }


def _repro(r: dict) -> dict:
    return {k: r[k] for k in ("index", "base", "family", "kind", "detail") if k in r}


def tflite_section(count: int, seed: int, c_sample: int, timeout_s: float = 30.0) -> dict:
    """Run ``count`` mutants and the C checks; returns the section with its ``summary``."""
    bases = base_models()
    t0 = time.monotonic()
    work = Path(__file__).resolve().parent.parent / "build" / "reliability"
    shutil.rmtree(work / "models", ignore_errors=True)
    box = Sandbox("reliability_tflite", "probe", timeout_s)
    try:
        base_sig, base_runs = {}, {}
        for name, data in bases.items():
            r = box.call(data, str(work / "models"), seed)
            if isinstance(r, Died) or r["stage"] != "done":
                raise SystemExit(f"base model {name} does not pass the pipeline: {r}")
            base_sig[name], base_runs[name] = r["signature"], r
        outcomes: Counter[str] = Counter()
        by_kind: dict[str, Counter[str]] = {}
        unclean, accepted, refused = [], [], []
        for m in mutants(bases, seed, count):
            r = box.call(m.data, str(work / "models"), seed)
            what = _classify(r)
            outcomes[what] += 1
            by_kind.setdefault(f"{m.family}:{m.kind}", Counter())[what] += 1
            row = {"index": m.index, "base": m.base, "family": m.family, "kind": m.kind, "detail": m.detail[:300]}
            if what.startswith("unclean"):
                unclean.append({**row, **({"died": r.what, "exit_code": r.exit_code} if isinstance(r, Died) else
                                          {k: r.get(k) for k in ("stage", "error", "message", "traceback")})})
            elif what.startswith("accepted:"):
                refused.append({**row, "stage": r["stage"], "error": r["error"], "message": r.get("message")})
            elif what == "compiled":
                accepted.append({**row, **r, "structural": r["signature"] != base_sig[m.base]})
            if (m.index + 1) % 250 == 0:
                print(f"  mutant {m.index + 1}: {dict(outcomes)}", file=sys.stderr)
    finally:
        box.close()
    parse_s = time.monotonic() - t0
    first = base_runs[sorted(base_runs)[0]]
    control = controls(Path(first["model_dir"]), np.frombuffer(first["x"], np.int8).reshape(INPUTS, -1), first["want"],
                       work / "host")
    c = _c_checks(accepted, c_sample, seed, work / "host")
    n = sum(outcomes.values())
    return {
        "seed": seed, "bases": {k: len(v) for k, v in bases.items()}, "timeout_s": timeout_s,
        "inputs_per_model": INPUTS, "outcomes": dict(sorted(outcomes.items())),
        "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
        "unclean": unclean[:50], "accepted_then_refused": refused[:50], "c": c, "c_controls": control, "parse_s": round(parse_s, 1),
        "c_s": round(time.monotonic() - t0 - parse_s, 1),
        "reproduce": "reliability_mutate.mutant(reliability_models.base_models(), seed, index)",
        "summary": {
            "tflite_mutants": n,
            "tflite_unclean": sum(v for k, v in outcomes.items() if k.startswith("unclean")),
            "tflite_accepted": sum(v for k, v in outcomes.items() if k.startswith("accepted") or k == "compiled"),
            "accepted_mutants_c_checked": c["c_checked"],
            "accepted_mutants_asan_errors": c["asan_errors"],
            "accepted_mutants_wrong_success": c["wrong_success"],
            "c_controls_detected": sum(v["got"][b] == v["expected"][b] for v in control.values() for b in v["got"]),
            "c_controls": sum(len(v["got"]) for v in control.values()),
        },
    }


def _classify(r: dict | Died) -> str:
    """``rejected:<Error>``, ``accepted:<stage refused>``, ``compiled`` or ``unclean:<what>``."""
    if isinstance(r, Died):
        return f"unclean:{r.what}"
    if r.get("clean") is False:
        return f"unclean:{r['stage']}:{r['error']}"
    if r["stage"] == "read":
        return f"rejected:{r['error']}"
    if r["stage"] != "done":
        return f"accepted:{r['stage']}_refused:{r['error']}"
    return "compiled"


def remake(seed: int, index: int) -> Mutant:
    """The mutant a result row names, for a reproduction."""
    return mutant(base_models(), seed, index)
