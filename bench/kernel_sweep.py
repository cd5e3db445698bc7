"""Depthwise convolution speed across shapes: instructions per MAC on the emulated Cortex-M4 and M7.

For each channel count and each of in place / out of place, one int8 model chains depthwise
layers of every swept shape, so one firmware build per (model, board) measures them all:

- 2-D (16x16 input): kernels 3x3, 5x5, 7x7 (stride s in both axes) and 3x1, 5x1, 10x1 (stride
  s along H only, as audio models stride in time), "same" padding, stride 1 and 2; plus 3x3 with
  "valid" padding at both strides;
- 1-D (the 16x16 tensor reshaped to 256x1, a time series): 3x1, 5x1 and 10x1, stride 1 and 2.

A layer that shrinks the tensor is followed by a PAD back to the base shape, so every swept layer
sees the same input size. In-place layers are what the compiler makes of a chain (each depthwise
is the last reader of its input); out-of-place ones come from compiling with in-place reuse off.
Each firmware's output is checked against the int8 reference interpreter. Counts are QEMU
``-icount shift=0`` instructions per layer (SysTick resolution, ~40 instructions).

    .venv/bin/python bench/kernel_sweep.py                       # writes bench/results/kernel_sweep.json
    git archive HEAD runtime_c | tar -x -C /tmp/before            # the kernels before a change
    .venv/bin/python bench/kernel_sweep.py --runtime /tmp/before/runtime_c --json before.json --label before
    .venv/bin/python bench/kernel_sweep.py --baseline before.json   # summary: before vs after

``--ops fc`` measures fully-connected layers instead (batch 1, int8, per-tensor requantisation,
``bench/results/kernel_sweep_fc.json``): for each input length one model chains FC layers of every
swept output count, each followed by an FC back to the input length (recorded too: narrow-input
layers), on the M7 only unless ``--boards`` says otherwise; each chain is compiled twice, with the
default int8 packed weights and with every layer's weights wide (int16, ``edgenas compile
--fc-wide N``), and the summary's ``wide`` entry gives the latter's grid. The default (``--ops dw``) is the
depthwise sweep above, unchanged.

    .venv/bin/python bench/kernel_sweep.py --ops fc --json fc.json
    PYTHONPATH=/path/to/before .venv/bin/python bench/kernel_sweep.py --ops fc --runtime /path/to/before/runtime_c --json fc_before.json --label before
    .venv/bin/python bench/kernel_sweep.py --ops fc --baseline fc_before.json

(the FC "before" run imports the older tree's compiler through PYTHONPATH as well, since the FC
entry point codegen calls changed along with the kernels.)

``--shapes`` (repeatable, e.g. ``--shapes 3x1 --shapes "3x1 1-D"``), ``--boards`` and ``--channels``
measure a subset. ``--runtime`` links the kernels of another tree with the same generated model code and harness,
which is how the "before" numbers are measured; ``--baseline`` reads such a run's JSON and adds
its worst/median instructions per MAC (and the median and smallest per-shape speedup) to the
summary. About 2 minutes on 2 cores (24 firmware builds and QEMU runs, 2 at a time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import provenance, write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.deploy.compile import compile_graph  # noqa: E402
from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor  # noqa: E402
from edgenas.deploy.reference import run_reference  # noqa: E402
from edgenas.paths import RUNTIME_C_DIR  # noqa: E402
from edgenas.targets.cortex_m import build_firmware, driver  # noqa: E402

BOARDS = ("mps2-an386", "mps2-an500")
CHANNELS = (8, 16, 24, 64, 96, 144)
BASE_HW = (16, 16)
# (label, KH, KW, stride along W follows stride along H, padding, 1-D)
SHAPES = [
    *[(f"{k}x{k}", k, k, True, "same", False) for k in (3, 5, 7)],
    ("3x1", 3, 1, False, "same", False),
    ("5x1", 5, 1, False, "same", False),
    ("10x1", 10, 1, False, "same", False),
    ("3x3 valid", 3, 3, True, "valid", False),
    ("3x1 1-D", 3, 1, False, "same", True),
    ("5x1 1-D", 5, 1, False, "same", True),
    ("10x1 1-D", 10, 1, False, "same", True),
]
STRIDES = (1, 2)


class _Chain:
    """A chain of depthwise layers on one base shape, each followed by a PAD back to it if needed."""

    def __init__(self, channels: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.c = channels
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.cur = self._act("x", (1, *BASE_HW, channels), 0.05, -3)
        self.layers: dict[str, dict] = {}  # op name -> swept shape

    def _act(self, name: str, shape: tuple[int, ...], scale: float, zp: int) -> str:
        self.tensors[name] = Tensor(name, tuple(shape), "int8", QuantParams((float(np.float32(scale)),), (zp,)))
        return name

    def _scale(self, t: str) -> float:
        return self.tensors[t].quant.scale[0]  # type: ignore[union-attr]

    def reshape(self, shape: tuple[int, ...]) -> None:
        i = len(self.ops)
        out = self._act(f"t{i}", shape, self._scale(self.cur), self.tensors[self.cur].quant.zero_point[0])  # type: ignore[union-attr]
        self.ops.append(Op("reshape", [self.cur], [out], {"new_shape": shape}, name=f"reshape_{i}"))
        self.cur = out

    def dw(self, label: str, kh: int, kw: int, sh: int, sw: int, padding: str) -> None:
        x = self.cur
        n, h, w, c = self.tensors[x].shape
        if padding == "same":
            oh, ow = -(-h // sh), -(-w // sw)
        else:
            oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
        i = len(self.ops)
        wscale = tuple(float(np.float32(v)) for v in self.rng.uniform(0.002, 0.02, size=c))
        self.tensors[f"w{i}"] = Tensor(f"w{i}", (1, kh, kw, c), "int8", QuantParams(wscale, (0,) * c, axis=3),
                                       data=self.rng.integers(-127, 128, size=(1, kh, kw, c), dtype=np.int8))
        in_s = self._scale(x)
        self.tensors[f"b{i}"] = Tensor(f"b{i}", (c,), "int32", QuantParams(tuple(in_s * s for s in wscale), (0,) * c),
                                       data=self.rng.integers(-2000, 2000, size=(c,)).astype(np.int32))
        out = self._act(f"t{i}", (n, oh, ow, c), in_s * float(np.mean(wscale)) * 40.0 * np.sqrt(kh * kw),
                        int(self.rng.integers(-20, 20)))
        attrs = dict(stride_h=sh, stride_w=sw, dilation_h=1, dilation_w=1, padding=padding, activation="relu")
        name = f"dw_{i}"
        self.ops.append(Op("depthwise_conv2d", [x, f"w{i}", f"b{i}"], [out], attrs, name=name))
        self.layers[name] = {"kernel": label, "stride": sh, "padding": padding, "input": [h, w, c],
                             "output": [oh, ow, c], "macs": oh * ow * c * kh * kw}
        self.cur = out
        if (oh, ow) != (h, w):  # pad back so the next layer sees the base shape again
            j = len(self.ops)
            pads = np.array([[0, 0], [0, h - oh], [0, w - ow], [0, 0]], dtype=np.int32)
            self.tensors[f"p{j}"] = Tensor(f"p{j}", (4, 2), "int32", None, data=pads)
            y = self._act(f"t{j}", (n, h, w, c), self._scale(out), self.tensors[out].quant.zero_point[0])  # type: ignore[union-attr]
            self.ops.append(Op("pad", [out, f"p{j}"], [y], {}, name=f"pad_{j}"))
            self.cur = y

    def graph(self) -> Graph:
        return Graph(self.tensors, self.ops, ["x"], [self.cur], name=f"dw_sweep_c{self.c}")


def sweep_graph(channels: int, shapes: list[tuple] | None = None) -> tuple[Graph, dict[str, dict]]:
    """The chain of every swept shape (or of ``shapes``, a subset of SHAPES) for one channel count."""
    ch = _Chain(channels, seed=channels)
    one_d = False
    for label, kh, kw, stride_w, padding, is_1d in shapes or SHAPES:
        if is_1d and not one_d:
            ch.reshape((1, BASE_HW[0] * BASE_HW[1], 1, channels))
            one_d = True
        for s in STRIDES:
            ch.dw(label, kh, kw, s, s if stride_w else 1, padding)
    return ch.graph(), ch.layers


def run_chain(graph, shapes: dict, tag: str, seed: int, boards: tuple[str, ...], runtime: Path, workdir: Path,
              in_place: bool = True, fc_wide_max_weights: int = 0):
    """Compile ``graph``, run it on each board on one random input (``seed``); yield (board, layer
    record, its swept shape, instructions, whether the whole output is bit-exact, the measurement)
    for each layer named in ``shapes``."""
    res = compile_graph(graph, workdir / tag / "src", in_place=in_place, fc_wide_max_weights=fc_wide_max_weights)
    x = np.random.default_rng(seed).integers(-128, 128, size=graph.tensor("x").shape, dtype=np.int8)
    want = run_reference(graph, x).reshape(-1)
    for board in boards:
        fw = build_firmware(workdir / tag / "src", get_board(board), workdir / tag / board, runtime_dir=runtime)
        (m,) = driver.run(fw, [x.tobytes()])
        exact = bool(np.array_equal(np.frombuffer(m.output, np.int8), want))
        for rec, count in zip(res.layers, m.per_layer):
            if rec["op"] in shapes:
                yield board, rec, shapes[rec["op"]], count, exact, m
        print(f"{tag} {board}: {'bit-exact' if exact else 'OUTPUT DIFFERS'}", file=sys.stderr)


def measure(channels: int, in_place: bool, runtime: Path, workdir: Path,
            boards: tuple[str, ...] = BOARDS, kernels: list[tuple] | None = None) -> list[dict]:
    """Compile one chain, run it on each board; one record per (board, depthwise layer)."""
    graph, shapes = sweep_graph(channels, kernels)
    tag = f"c{channels}-{'ip' if in_place else 'oop'}"
    records = []
    for board, rec, s, count, exact, _ in run_chain(graph, shapes, tag, channels, boards, runtime, workdir,
                                                    in_place=in_place):
        records.append({"board": board, "channels": channels, "in_place": bool(rec["in_place"]), **s,
                        "instructions": int(count), "instructions_per_mac": round(count / s["macs"], 3),
                        "bit_exact": exact})
    return records


FC_INPUTS = (8, 16, 64, 128, 256, 1024)
FC_OUTPUTS = (10, 12, 64, 128, 256)


def fc_graph(cin: int) -> tuple[Graph, dict[str, dict]]:
    """x[1, cin] -> FC(cin -> cout) -> FC(cout -> cin) for each swept cout, in a chain."""
    rng = np.random.default_rng(cin)
    tensors: dict[str, Tensor] = {}
    ops: list[Op] = []
    layers: dict[str, dict] = {}

    def act(name: str, n: int, scale: float, zp: int) -> str:
        tensors[name] = Tensor(name, (1, n), "int8", QuantParams((float(np.float32(scale)),), (zp,)))
        return name

    cur = act("x", cin, 0.05, -3)

    def fc(x: str, n_in: int, n_out: int, swept: bool) -> str:
        i = len(ops)
        ws = float(np.float32(rng.uniform(0.002, 0.02)))
        tensors[f"w{i}"] = Tensor(f"w{i}", (n_out, n_in), "int8", QuantParams((ws,), (0,)),
                                  data=rng.integers(-127, 128, size=(n_out, n_in), dtype=np.int8))
        in_s = tensors[x].quant.scale[0]  # type: ignore[union-attr]
        tensors[f"b{i}"] = Tensor(f"b{i}", (n_out,), "int32", QuantParams((in_s * ws,), (0,)),
                                  data=rng.integers(-2000, 2000, size=(n_out,)).astype(np.int32))
        out = act(f"t{i}", n_out, in_s * ws * 40.0 * np.sqrt(n_in), int(rng.integers(-20, 20)))
        name = f"fc_{i}"
        ops.append(Op("fully_connected", [x, f"w{i}", f"b{i}"], [out], {"activation": "relu"}, name=name))
        layers[name] = {"in_features": n_in, "out_features": n_out, "swept": swept, "macs": n_in * n_out}
        return out

    for cout in FC_OUTPUTS:
        cur = fc(cur, cin, cout, True)
        cur = fc(cur, cout, cin, False)
    return Graph(tensors, ops, ["x"], [cur], name=f"fc_sweep_i{cin}"), layers


FC_LAYOUTS = {"packed": 0, "wide": 1 << 30}
"""The FC weight layouts measured, as codegen's fc_wide_max_weights: int8 packed (the default) and
int16 wide (``edgenas compile --fc-wide N``) for every layer."""


def measure_fc(cin: int, boards: tuple[str, ...], runtime: Path, workdir: Path) -> list[dict]:
    """Compile one FC chain per weight layout, run it on each board; one record per (board, layout,
    FC layer)."""
    graph, shapes = fc_graph(cin)
    records = []
    for layout, wide_max in FC_LAYOUTS.items():
        for board, _, s, count, exact, m in run_chain(graph, shapes, f"fc-i{cin}-{layout}", cin, boards, runtime,
                                                      workdir, fc_wide_max_weights=wide_max):
            records.append({"board": board, "layout": layout, **s, "instructions": int(count),
                            "instructions_per_mac": round(count / s["macs"], 3), "bit_exact": exact,
                            "flash_bytes": m.flash_bytes})
    return records


def _fc_key(r: dict) -> tuple:
    return (r["board"], r.get("layout", "packed"), r["in_features"], r["out_features"])


def summarize_fc(records: list[dict], baseline: list[dict] | None, boards: tuple[str, ...]) -> dict:
    """Per board: the swept grid (input x output) of instructions per MAC, worst over inputs >= 64,
    of the default (packed) layout; the same for the wide one under ``wide``."""
    out: dict = {}
    bmap = {_fc_key(r): r for r in baseline or []}
    for board in boards:
        mine = [r for r in records if r["board"] == board and r.get("layout", "packed") == "packed"]
        grid = {f"{r['in_features']}x{r['out_features']}": r["instructions_per_mac"] for r in mine if r["swept"]}
        big = [r for r in mine if r["swept"] and r["in_features"] >= 64]
        entry: dict = {"grid": grid,
                       "worst_in_ge_64": max(r["instructions_per_mac"] for r in big) if big else None,
                       "narrow": {f"{r['in_features']}x{r['out_features']}": r["instructions_per_mac"]
                                  for r in mine if not r["swept"]}}
        wide = [r for r in records if r["board"] == board and r.get("layout") == "wide" and r["swept"]]
        if wide:
            entry["wide"] = {"grid": {f"{r['in_features']}x{r['out_features']}": r["instructions_per_mac"] for r in wide},
                             "worst_in_ge_64": max((r["instructions_per_mac"] for r in wide if r["in_features"] >= 64),
                                                   default=None)}
        if baseline:
            entry["before_grid"] = {k: bmap[(board, "packed", *map(int, k.split("x")))]["instructions_per_mac"]
                                    for k in grid if (board, "packed", *map(int, k.split("x"))) in bmap}
            ratios = [bmap[_fc_key(r)]["instructions_per_mac"] / r["instructions_per_mac"] for r in mine if _fc_key(r) in bmap]
            if ratios:
                entry["speedup_median"] = round(statistics.median(ratios), 2)
                entry["speedup_min"] = round(min(ratios), 2)
        out[board] = entry
    return out


def _stats(records: list[dict]) -> dict:
    ipm = [r["instructions_per_mac"] for r in records]
    worst = max(records, key=lambda r: r["instructions_per_mac"])
    return {"median": round(statistics.median(ipm), 3), "worst": worst["instructions_per_mac"],
            "worst_shape": _key_text(worst), "shapes": len(ipm)}


def _key(r: dict) -> tuple:
    return (r["board"], r["channels"], r["in_place"], r["kernel"], r["stride"])


def _key_text(r: dict) -> str:
    return f"{r['kernel']} s{r['stride']} C={r['channels']} {'in place' if r['in_place'] else 'out of place'}"


def summarize(records: list[dict], baseline: list[dict] | None, boards: tuple[str, ...] = BOARDS,
              shapes: list[tuple] | None = None) -> dict:
    out: dict = {}
    for board in boards:
        mine = [r for r in records if r["board"] == board]
        entry: dict = {"after" if baseline else "now": _stats(mine)}
        per_kernel = {}
        for label, *_ in shapes or SHAPES:
            for s in STRIDES:
                rs = [r for r in mine if r["kernel"] == label and r["stride"] == s]
                per_kernel[f"{label} s{s}"] = {"median": round(statistics.median(r["instructions_per_mac"] for r in rs), 3),
                                               "worst": max(r["instructions_per_mac"] for r in rs)}
        if baseline:
            base = [r for r in baseline if r["board"] == board]
            entry["before"] = _stats(base)
            bmap = {_key(r): r for r in base}
            ratios = [bmap[_key(r)]["instructions_per_mac"] / r["instructions_per_mac"] for r in mine if _key(r) in bmap]
            entry["speedup_median"] = round(statistics.median(ratios), 2)
            entry["speedup_min"] = round(min(ratios), 2)
            for key, v in per_kernel.items():
                rs = [bmap[_key(r)] for r in mine if f"{r['kernel']} s{r['stride']}" == key and _key(r) in bmap]
                v["before_median"] = round(statistics.median(r["instructions_per_mac"] for r in rs), 3)
                v["before_worst"] = max(r["instructions_per_mac"] for r in rs)
        entry["per_kernel"] = per_kernel
        out[board] = entry
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", type=Path, default=RUNTIME_C_DIR, help="runtime_c tree to link (default: this one)")
    ap.add_argument("--baseline", type=Path, help="JSON of an earlier run (--json or a results file) to compare with")
    ap.add_argument("--json", type=Path, help="write the records here instead of bench/results/kernel_sweep.json")
    ap.add_argument("--channels", type=int, action="append", help="subset of channel counts (default: all)")
    ap.add_argument("--shapes", action="append", help="subset of kernel labels, e.g. '3x1' or '3x1 1-D' (default: all)")
    ap.add_argument("--boards", action="append", help="boards (default: both for dw, mps2-an500 for fc)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--label", default="", help="what this run measures (kept in the JSON)")
    ap.add_argument("--ops", choices=("dw", "fc"), default="dw",
                    help="dw: the depthwise sweep (default); fc: fully-connected layers")
    ap.add_argument("--inputs", type=int, action="append", help="--ops fc: subset of input lengths (default: all)")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    if args.ops == "fc":
        return _main_fc(args, t0)
    jobs = [(c, ip) for c in (args.channels or CHANNELS) for ip in (True, False)]
    boards = tuple(args.boards or BOARDS)
    shapes = [s for s in SHAPES if s[0] in args.shapes] if args.shapes else None
    if args.shapes and len(shapes or []) != len(set(args.shapes)):
        ap.error(f"--shapes: known labels are {', '.join(s[0] for s in SHAPES)}")
    with tempfile.TemporaryDirectory(prefix="kernel-sweep-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        parts = list(pool.map(lambda j: measure(j[0], j[1], args.runtime.resolve(), Path(tmp), boards, shapes), jobs))
    records = [r for part in parts for r in part]
    baseline = _baseline(args)
    note = ("QEMU -icount instructions per MAC of each depthwise layer (layer instructions / (OH*OW*C*KH*KW)); "
            "input 16x16xC (1-D: 256x1xC), relu, per-channel int8; bit_exact: the firmware output equals the "
            "int8 reference interpreter's")
    summary = summarize(records, baseline and baseline["records"], boards, shapes)
    return _finish(args, t0, "kernel_sweep", note, summary, records, baseline)


def _baseline(args: argparse.Namespace) -> dict | None:
    """The ``--baseline`` run's records and where they came from, or None."""
    if not args.baseline:
        return None
    data = json.loads(args.baseline.read_text())
    return {"records": data["records"], "info": {"file": str(args.baseline),
                                                 **{k: data.get(k) for k in ("label", "git", "dirty", "utc", "runtime")}}}


def _finish(args: argparse.Namespace, t0: float, name: str, note: str, summary: dict, records: list[dict],
            baseline: dict | None) -> int:
    """Write the result (``--json`` or bench/results/<name>.json), print its summary; 1 unless all bit-exact."""
    result = {"note": note, "runtime": str(args.runtime), "label": args.label,
              "seconds": round(time.monotonic() - t0, 1), "summary": summary, "records": records}
    if baseline:
        result["baseline"] = baseline["info"]
    if args.json:
        args.json.write_text(json.dumps({**provenance(), **result}, indent=1) + "\n")
        print(args.json)
    else:
        print(write_result(name, result))
    print(json.dumps(summary, indent=1))
    return 0 if all(r["bit_exact"] for r in records) else 1


def _main_fc(args: argparse.Namespace, t0: float) -> int:
    boards = tuple(args.boards or ("mps2-an500",))
    with tempfile.TemporaryDirectory(prefix="kernel-sweep-fc-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        parts = list(pool.map(lambda c: measure_fc(c, boards, args.runtime.resolve(), Path(tmp)),
                              args.inputs or FC_INPUTS))
    records = [r for part in parts for r in part]
    baseline = _baseline(args)
    note = ("QEMU -icount instructions per MAC of each fully-connected layer (layer instructions / (C_in * C_out)), "
            "batch 1, relu, per-tensor int8; swept: input x output grid, else the FC back to the input length; "
            "bit_exact: the firmware output equals the int8 reference interpreter's")
    summary = summarize_fc(records, baseline and baseline["records"], boards)
    return _finish(args, t0, "kernel_sweep_fc", note, summary, records, baseline)


if __name__ == "__main__":
    sys.exit(main())
