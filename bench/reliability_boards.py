"""``board_files``: hostile and broken board profiles through the loader, registry and CLI.

Cases come from a seeded generator (:func:`cases`): every hostile compiler flag of
reliability_canary.HOSTILE_FLAGS added to Cortex-M and Linux profiles (also in a file that
claims a built-in's name with ``replaces_builtin``), wrong types, huge, negative and non-finite
numbers, unknown keys at every depth, missing fields, strings that would reach C, a linker
script or a command line, non-UTF-8 and UTF-16 text, deep nesting, broken TOML syntax, files
shadowing each built-in, special files (FIFO, /dev/zero, folders, dangling links, 2 MiB) and a
broken file beside a good one.

Each case is one ``EDGENAS_BOARDS_DIR`` folder, run in a sandboxed worker from the canary kit's
empty working folder: every file through ``load_board_file``; the folder through
``BoardRegistry`` (must not raise; built-ins keep their meaning unless a valid file replaces one
on purpose; a good file beside a bad one stays usable); ``edgenas boards``, ``boards --json`` and
``boards show`` for each name through the CLI (exit 0, no traceback); and every accepted
Cortex-M profile with a flag no built-in profile uses is built. Afterwards the kit is checked for
canaries (``commands_executed``). Unclean: any other exception, a hang, a crash, a traceback, a
built-in silently replaced, a good file lost, a hostile flag accepted.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import reliability_toml as toml
from reliability_canary import HOSTILE_FLAGS, Kit, build_with, control
from reliability_sandbox import Died, Sandbox

REPO = Path(__file__).resolve().parent.parent
BOARDS = REPO / "boards"
CORTEX_BASES = ("mps2-an500", "nucleo-f746zg")
DEVICE_BASES = ("raspberry-pi-4", "android-arm64")
SUBPROCESS_EVERY = 60

# Failures whose fix belongs in a module this bench may not change now (edgenas/boards/ is being
# reworked): matched on the case's family and detail, still counted in board_unclean.
KNOWN_FAILURES = {
    ("nesting", "dotted_keys 40000 deep"): {
        "what": "an 80 KB profile `x.a.a....a = 1` (40,000 dotted keys) takes tomllib about 110 s and 6.3 GB "
                "(quadratic in the depth; 4,000 keys: 0.9 s, 81 MB); every edgenas command reading "
                "EDGENAS_BOARDS_DIR stalls, and under a memory limit dies of MemoryError",
        "fix": "edgenas/boards/loader.py: refuse a profile whose keys are nested deeper than a profile needs "
               "(say 8 dots or brackets in a row) before tomllib parses it, as a BoardError",
        "reproduce": "python -c \"open('x.toml','w').write('x.' + '.'.join(['a'] * 40000) + ' = 1')\"; "
                     "EDGENAS_BOARDS_DIR=. edgenas boards",
    },
}


@dataclass
class BoardCase:
    """One folder of profile files and what must hold after loading it."""

    index: int
    family: str
    detail: str
    files: dict[str, bytes | str] = field(default_factory=dict)
    """file name -> bytes, or a special: ``fifo``, ``dir``, ``link:TARGET``."""
    must_load: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    hostile: bool = False


def _base(name: str) -> dict[str, Any]:
    return tomllib.loads((BOARDS / f"{name}.toml").read_text())


def _renamed(table: dict[str, Any], name: str) -> dict[str, Any]:
    t = copy.deepcopy(table)
    t["name"] = name
    return t


def _file(table: dict[str, Any]) -> tuple[str, bytes]:
    name = table.get("name")
    return f"{name if isinstance(name, str) else 'case'}.toml", toml.dumps(table).encode()


def _paths(t: Any, prefix: tuple = ()) -> list[tuple]:  # noqa: ANN401
    """Every key path to a leaf (and to each table) of a parsed profile."""
    out = []
    if isinstance(t, dict):
        for k, v in t.items():
            out.append((*prefix, k))
            out += _paths(v, (*prefix, k))
    elif isinstance(t, list):
        for i, v in enumerate(t):
            if isinstance(v, dict):
                out += _paths(v, (*prefix, i))
    return out


def _get_parent(t: Any, path: tuple) -> tuple[Any, Any]:  # noqa: ANN401
    for k in path[:-1]:
        t = t[k]
    return t, path[-1]


ODD_VALUES = ("x", "", 1, 0, -1, True, 1.5, float("nan"), [], {}, [1, "a"], {"a": 1}, [[1]],
              dt.datetime(1979, 5, 27, 7, 32), "0x20000000", "25_000_000")
NUMBERS = (0, -1, 1, 999, 10**23, 2**32, 2**32 - 1, 2**63 - 1, -(2**63), 10**4000, 1e308, float("inf"),
           float("nan"), 0.5, 25_000_000.0)
STRINGS = ("../../etc/passwd", "a b", "$(touch /tmp/x)", "x;reboot", "line\nbreak", "[bold red]markup[/]",
           "\x1b[31mred", "mps2-an500 -monitor stdio", "-oProxyCommand=touch", "é" * 70, "x" * 5000, "",
           "/dev/zero", "NUL\u0000byte", "\u202eevil")
UNKNOWN_AT = ((), ("features",), ("memory",), ("memory", "ram"), ("uart",), ("timer",), ("flash_method",),
              ("serial",), ("qemu",), ("runner",), ("connection",))


def _hostile(rng: np.random.Generator, index: int, kit: Kit) -> list[BoardCase]:
    out = []
    for label, flags in HOSTILE_FLAGS:
        filled = [kit.fill(f) for f in flags]
        for base in (*CORTEX_BASES, DEVICE_BASES[0]):
            t = _renamed(_base(base), f"probe-{index}")
            at = int(rng.integers(len(t.get("cflags", [])) + 1))
            t["cflags"] = t.get("cflags", [])[:at] + filled + t.get("cflags", [])[at:]
            name, data = _file(t)
            out.append(BoardCase(index, "hostile_cflags", f"{label} in {base} at {at}", {name: data}, hostile=True))
            index += 1
        t = _base(CORTEX_BASES[0])  # claims the built-in's name, on purpose, with the flag
        t["replaces_builtin"] = True
        t["cflags"] = t["cflags"] + filled
        out.append(BoardCase(index, "hostile_cflags", f"{label} replacing {CORTEX_BASES[0]}",
                             {f"{CORTEX_BASES[0]}.toml": toml.dumps(t).encode()}, hostile=True))
        index += 1
    return out


def _table_edits(rng: np.random.Generator, index: int, count: int) -> list[BoardCase]:
    """Type, number, unknown-key, missing-field and string edits of a parsed built-in."""
    out = []
    bases = sorted(p.stem for p in BOARDS.glob("*.toml"))
    kinds = ("type", "number", "unknown_key", "missing", "string")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        base = bases[int(rng.integers(len(bases)))]
        t = _renamed(_base(base), f"probe-{index}")
        paths = [p for p in _paths(t) if p != ("name",)]
        if kind == "type":
            path = paths[int(rng.integers(len(paths)))]
            parent, k = _get_parent(t, path)
            parent[k] = ODD_VALUES[int(rng.integers(len(ODD_VALUES)))]
            detail = f"{'.'.join(map(str, path))} = {parent[k]!r:.60}"
        elif kind == "number":
            nums = [p for p in paths if isinstance(_get_parent(t, p)[0][p[-1]], int)] or paths
            path = nums[int(rng.integers(len(nums)))]
            parent, k = _get_parent(t, path)
            parent[k] = NUMBERS[int(rng.integers(len(NUMBERS)))]
            detail = f"{'.'.join(map(str, path))} = {str(parent[k])[:40]}"
        elif kind == "unknown_key":
            where = UNKNOWN_AT[int(rng.integers(len(UNKNOWN_AT)))]
            table = t
            for k in where:
                table = table.setdefault(k, {})
            key = str(rng.choice(["buad", "extra", "origin2", "clock", "cflags_extra", "nested"]))
            table[key] = {"deeper": 1} if key == "nested" else 1
            detail = f"{'.'.join((*where, key))}"
        elif kind == "missing":
            path = paths[int(rng.integers(len(paths)))]
            parent, k = _get_parent(t, path)
            del parent[k]
            detail = f"without {'.'.join(map(str, path))}"
        else:
            strs = [p for p in paths if isinstance(_get_parent(t, p)[0][p[-1]], str)] or paths
            path = strs[int(rng.integers(len(strs)))]
            parent, k = _get_parent(t, path)
            parent[k] = STRINGS[int(rng.integers(len(STRINGS)))]
            detail = f"{'.'.join(map(str, path))} = {parent[k]!r:.60}"
        name, data = _file(t)
        out.append(BoardCase(index, kind, f"{base}: {detail}", {name: data}))
        index += 1
    return out


def _text_edits(rng: np.random.Generator, index: int, count: int) -> list[BoardCase]:
    """Broken syntax and encodings of a built-in's text."""
    out = []
    text = (BOARDS / f"{CORTEX_BASES[1]}.toml").read_text().replace(f'"{CORTEX_BASES[1]}"', '"NAME"')
    junk = ("[", "]", "=", '"', "'''", "[[uart.pins]]", "[memory]", "\\", "\x00", "\t", "#", "{", "}", ",")
    for i in range(count):
        name = f"probe-{index}"
        src = text.replace("NAME", name)
        if i % 3 == 0:  # encodings
            choice = i // 3 % 6
            data = [src.encode("utf-16"), b"\xef\xbb\xbf" + src.encode(), src.encode().replace(b"ST ", b"\xff\xfe "),
                    src.replace("ST NUCLEO", "ST NUCL\u00c9O").encode("latin-1"), src.encode() + b"\xc3",
                    src.encode().replace(b"mthumb", b"mth\xc0\xafmb")][choice]
            detail = ["utf-16", "utf-8 BOM", "invalid bytes in a comment", "latin-1", "truncated UTF-8",
                      "overlong UTF-8 in a flag"][choice]
        else:  # syntax
            lines = src.splitlines()
            j = int(rng.integers(len(lines)))
            op = int(rng.integers(4))
            if op == 0:
                lines.insert(j, lines[j])
                detail = f"line {j} twice"
            elif op == 1:
                pos = int(rng.integers(len(lines[j]) + 1))
                lines[j] = lines[j][:pos] + junk[int(rng.integers(len(junk)))] + lines[j][pos:]
                detail = f"junk in line {j}"
            elif op == 2:
                lines[j] = lines[j][: len(lines[j]) // 2]
                detail = f"line {j} cut"
            else:
                lines.insert(j, "[memory.ram]" if rng.random() < 0.5 else "name = 'again'")
                detail = f"repeated table/key at line {j}"
            data = "\n".join(lines).encode(errors="surrogateescape")
        out.append(BoardCase(index, "encoding" if i % 3 == 0 else "syntax", detail, {f"{name}.toml": data}))
        index += 1
    return out


def _nesting(index: int) -> list[BoardCase]:
    out = []
    for depth in (40, 400, 4000, 40000):
        for form, text in (("arrays", "x = " + "[" * depth + "]" * depth),
                           ("inline_tables", "x = " + "{a = " * depth + "1" + "}" * depth),
                           ("dotted_keys", "x." + ".".join(["a"] * depth) + " = 1"),
                           ("table_header", "[" + ".".join(["t"] * depth) + "]")):
            body = (BOARDS / f"{CORTEX_BASES[0]}.toml").read_text().replace(f'"{CORTEX_BASES[0]}"', f'"probe-{index}"')
            out.append(BoardCase(index, "nesting", f"{form} {depth} deep",
                                 {f"probe-{index}.toml": (text + "\n" + body).encode()}))
            index += 1
    return out


def _shadowing(index: int) -> list[BoardCase]:
    """A user file named like each built-in: refused unless it says replaces_builtin (then it wins)."""
    out = []
    for path in sorted(BOARDS.glob("*.toml")):
        text = path.read_text()
        out.append(BoardCase(index, "shadow", f"{path.stem} without replaces_builtin", {path.name: text.encode()}))
        index += 1
        replaced = "replaces_builtin = true\n" + text
        out.append(BoardCase(index, "shadow", f"{path.stem} with replaces_builtin",
                             {path.name: replaced.encode()}, replaces=(path.stem,)))
        index += 1
    return out


def _specials(index: int) -> list[BoardCase]:
    good = toml.dumps(_renamed(_base(CORTEX_BASES[0]), "probe-good")).encode()
    specials: list[tuple[str, dict[str, bytes | str]]] = [
        ("fifo", {"probe-fifo.toml": "fifo"}), ("link to /dev/zero", {"probe-zero.toml": "link:/dev/zero"}),
        ("folder", {"probe-dir.toml": "dir"}), ("dangling link", {"probe-dangling.toml": "link:/nonexistent/x.toml"}),
        ("link loop", {"probe-loop.toml": "link:probe-loop.toml"}), ("empty", {"probe-empty.toml": b""}),
        ("2 MiB", {"probe-big.toml": b"# " + b"x" * (2 << 20) + b"\n"}), ("only BOM", {"probe-bom.toml": b"\xef\xbb\xbf"}),
        ("link to /etc/passwd", {"probe-passwd.toml": "link:/etc/passwd"}),
        ("stem differs from name", {"other-name.toml": good}),
    ]
    return [BoardCase(index + i, "special", detail, files) for i, (detail, files) in enumerate(specials)]


def _beside_good(rng: np.random.Generator, index: int, broken: list[BoardCase], count: int) -> list[BoardCase]:
    """A broken file and a good one in one folder: the good board must stay usable."""
    out = []
    for i in range(count):
        bad = broken[int(rng.integers(len(broken)))]
        good = toml.dumps(_renamed(_base(CORTEX_BASES[i % 2]), f"probe-good-{index}")).encode()
        out.append(BoardCase(index, "beside_good", f"good file beside case {bad.index} ({bad.family}: {bad.detail})",
                             {**bad.files, f"probe-good-{index}.toml": good}, must_load=(f"probe-good-{index}",),
                             hostile=bad.hostile))
        index += 1
    return out


def cases(seed: int, kit: Kit, quick: bool = False) -> list[BoardCase]:
    """Every case of the run seeded ``seed``, numbered in order."""
    rng = np.random.default_rng([seed, 2])
    out: list[BoardCase] = _hostile(rng, 0, kit)
    out += _table_edits(rng, len(out), 40 if quick else 120)
    out += _text_edits(rng, len(out), 12 if quick else 45)
    out += _nesting(len(out))
    out += _shadowing(len(out))
    out += _specials(len(out))
    out += _beside_good(rng, len(out), [c for c in out if c.family in ("syntax", "type", "hostile_cflags")],
                        6 if quick else 20)
    if quick:
        keep = set(range(0, len(_hostile(np.random.default_rng(0), 0, kit)), 6))
        out = [c for c in out if c.family != "hostile_cflags" or c.index in keep]
    return out


def _write(case: BoardCase, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, data in case.files.items():
        path = folder / name
        if data == "fifo":
            os.mkfifo(path)
        elif data == "dir":
            path.mkdir()
        elif isinstance(data, str) and data.startswith("link:"):
            path.symlink_to(data[5:])
        else:
            path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _build_cli_once() -> None:
    """typer's CliRunner rebuilds the click command from the app on every invoke (0.1 s, a third of
    a case); the app does not change within a worker, so build it once."""
    import functools

    import typer.testing

    if not hasattr(typer.testing._get_command, "cache_info"):
        typer.testing._get_command = functools.lru_cache(maxsize=4)(typer.testing._get_command)


def probe(folder: str, kit_root: str, must_load: tuple[str, ...], replaces: tuple[str, ...], build: bool) -> dict:
    """Load one case folder every public way (runs in the sandbox worker, cwd = the kit's)."""
    from typer.testing import CliRunner

    from edgenas.boards import BoardRegistry, load_board_file, registry
    from edgenas.cli import app
    from edgenas.errors import BoardError

    kit = Kit(Path(kit_root))
    os.chdir(kit.cwd)
    problems: list[str] = []
    files, accepted = {}, []
    for path in sorted(Path(folder).iterdir()):
        try:
            board = load_board_file(path)
            files[path.name] = "accepted"
            accepted.append(board)
        except BoardError as e:
            files[path.name] = f"BoardError: {str(e)[:160]}"
        except BaseException as e:  # noqa: BLE001
            files[path.name] = f"unclean {type(e).__name__}: {str(e)[:160]}"
            problems.append(f"load_board_file({path.name}) raised {type(e).__name__}")
    try:
        reg = BoardRegistry(entry_points=False, user_dir=folder)
        builtins = {p.stem for p in BOARDS.glob("*.toml")}
        for name in sorted(builtins - set(replaces)):
            if not reg.get(name).source.startswith("plugin:builtin"):
                problems.append(f"built-in {name} was replaced by {reg.get(name).source}")
        for name in must_load:
            if name not in reg.names():
                problems.append(f"good board {name} was lost beside a bad file")
        registry_problems = len(reg.problems)
    except BaseException as e:  # noqa: BLE001
        problems.append(f"BoardRegistry raised {type(e).__name__}: {str(e)[:160]}")
        registry_problems = -1
    os.environ["EDGENAS_BOARDS_DIR"] = folder
    _build_cli_once()
    runner = CliRunner()
    cli = {}
    for args in (["boards"], ["boards", "--json"], *(["boards", "show", b.name] for b in accepted)):
        registry._default = None
        r = runner.invoke(app, args)
        text = r.stdout + r.stderr
        cli[" ".join(args)] = r.exit_code
        if r.exit_code != 0 or "Traceback" in text or (r.exception and not isinstance(r.exception, SystemExit)):
            problems.append(f"edgenas {' '.join(args)}: exit {r.exit_code}, {type(r.exception).__name__}: "
                            f"{text.strip()[-200:]}")
    registry._default = None
    builds = {}
    if build:
        usual = {f for p in BOARDS.glob("*.toml") for f in tomllib.loads(p.read_text()).get("cflags", [])}
        for b in accepted:  # a profile with a flag no built-in uses: would its build run anything?
            if getattr(b, "kind", "") != "device" and not set(b.cflags) <= usual:
                outcome, stray = build_with(b, kit, kit.root / "fw" / b.name)
                builds[b.name] = {"build": outcome, "stray_outputs": stray}
    return {"files": files, "registry_problems": registry_problems, "cli": cli, "builds": builds,
            "accepted": [b.name for b in accepted], "accepted_cflags": {b.name: list(b.cflags) for b in accepted},
            "problems": problems}


def _cli_subprocess(folder: Path, kit: Kit) -> str | None:
    """``edgenas boards`` as a user runs it; the problem, or None."""
    exe = Path(sys.executable).parent / "edgenas"
    env = {**os.environ, "EDGENAS_BOARDS_DIR": str(folder)}
    try:
        p = subprocess.run([str(exe), "boards"], env=env, cwd=kit.cwd, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        return "edgenas boards (subprocess) hung"
    if p.returncode != 0 or "Traceback" in p.stdout + p.stderr:
        return f"edgenas boards (subprocess): exit {p.returncode}: {(p.stdout + p.stderr).strip()[-200:]}"
    return None


def board_section(seed: int, quick: bool = False, timeout_s: float = 120.0) -> dict:
    """Run every case; returns the section with its ``summary``."""
    from edgenas.boards import get_board

    t0 = time.monotonic()
    work = REPO / "build" / "reliability" / "boards"
    shutil.rmtree(work, ignore_errors=True)
    kit = Kit(work / "kit")
    kit.make()
    base_flags = {n: tuple(_base(n).get("cflags", [])) for n in (*CORTEX_BASES, *DEVICE_BASES)}
    ctl = control(kit, get_board(CORTEX_BASES[0]), work / "control")
    all_cases = cases(seed, kit, quick)
    box = Sandbox("reliability_boards", "probe", timeout_s)
    seconds: list[tuple[float, int, str, str]] = []
    unclean, executed, hostile_accepted, families = [], [], [], {}
    try:
        for case in all_cases:
            folder = work / "cases" / f"{case.index:04d}"
            _write(case, folder)
            kit.reset()
            t_case = time.monotonic()
            r = box.call(str(folder), str(kit.root), case.must_load, case.replaces, True)
            seconds.append((round(time.monotonic() - t_case, 1), case.index, case.family, case.detail[:80]))
            problems = [f"{r.what} (exit {r.exit_code})"] if isinstance(r, Died) else list(r["problems"])
            if case.index % SUBPROCESS_EVERY == 0 and (p := _cli_subprocess(folder, kit)):
                problems.append(p)
            if not isinstance(r, Died) and case.hostile:
                bad = [n for n, flags in r["accepted_cflags"].items()
                       if not set(flags) <= set().union(*base_flags.values())]
                if bad:
                    hostile_accepted.append({"index": case.index, "detail": case.detail, "boards": bad})
                    problems.append(f"hostile flags accepted in {bad}")
            fired = kit.fired() + [f"{n}/{s}" for n, b in ({} if isinstance(r, Died) else r["builds"]).items()
                                   for s in b["stray_outputs"]]
            if fired:
                executed.append({"index": case.index, "detail": case.detail, "fired": fired[:10]})
            fam = families.setdefault(case.family, {"cases": 0, "files_accepted": 0, "files_refused": 0, "unclean": 0})
            fam["cases"] += 1
            if not isinstance(r, Died):
                fam["files_accepted"] += sum(v == "accepted" for v in r["files"].values())
                fam["files_refused"] += sum(v.startswith("BoardError") for v in r["files"].values())
            if problems:
                fam["unclean"] += 1
                known = (case.family, case.detail) in KNOWN_FAILURES
                unclean.append({"index": case.index, "family": case.family, "detail": case.detail,
                                "problems": problems, **({"known_failure": True} if known else {})})
    finally:
        box.close()
        kit.reset()
    n_files = sum(len(c.files) for c in all_cases)
    return {
        "seed": seed, "families": families,
        "known_failures": [{"case": f"{fam}: {detail}", **v} for (fam, detail), v in KNOWN_FAILURES.items()
                           if any(u["family"] == fam and u["detail"] == detail for u in unclean)],
        "unclean": unclean[:60], "commands_executed": executed[:60], "hostile_accepted": hostile_accepted[:60],
        "control": {"flags": len(ctl), "fired": sum(bool(v["fired"]) for v in ctl.values()),
                    "by_flag": {k: {"build": v["build"][:80], "fired": v["fired"][:3]} for k, v in ctl.items()}},
        "slowest_cases": sorted(seconds, reverse=True)[:8], "subprocess_cli_every": SUBPROCESS_EVERY,
        "seconds_cases": round(time.monotonic() - t0, 1),
        "reproduce": "reliability_boards.cases(seed, Kit(folder))[index]",
        "summary": {
            "board_files": n_files,
            "board_cases": len(all_cases),
            "board_unclean": len(unclean),
            "board_unclean_known": sum(1 for u in unclean if u.get("known_failure")),
            "board_commands_executed": len(executed),
            "board_hostile_flags_accepted": len(hostile_accepted),
            "board_control_flags_fired": sum(bool(v["fired"]) for v in ctl.values()),
        },
    }
