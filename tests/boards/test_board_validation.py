"""Hostile or broken board files (issue #25): compiler-flag allow-list, number bounds, unknown nested
keys, odd files, a plugin or user file taking a built-in's name, and hints that keep their brackets."""

from __future__ import annotations

import os
import re
import shutil

import pluggy
import pytest
from typer.testing import CliRunner

from edgenas.boards import DEVICE_DRIVERS, BoardRegistry, cflag_problem, hookimpl, load_board_file, registry
from edgenas.cli import app
from edgenas.errors import BoardError
from edgenas.paths import BOARDS_DIR, TARGETS_DIR


def _variant(tmp_path, old: str, new: str, base: str = "mps2-an500"):
    text = (BOARDS_DIR / f"{base}.toml").read_text()
    assert old in text, old
    path = tmp_path / f"{base}.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _refused(path, field: str, problem: str) -> BoardError:
    with pytest.raises(BoardError) as e:
        load_board_file(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: field `{field}`"), msg
    assert re.search(problem, msg), msg
    assert e.value.hint
    return e.value


CFLAGS = 'cflags = ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"]'


@pytest.mark.parametrize(
    ("flag", "problem"),
    [
        ("-wrapper,/bin/sh,-c,touch pwned", "runs any program"),
        ("-save-temps=cwd", "writes intermediate files"),
        ("-save-temps", "writes intermediate files"),
        ("-B/tmp/evil", "passes from another folder"),
        ("-specs=/tmp/evil.specs", "specs file"),
        ("--specs=nosys.specs", "specs file"),
        ("@/tmp/more-flags", "reads more flags from a file"),
        ("-o/tmp/firmware.elf", "where gcc writes"),
        ("-fplugin=/tmp/evil.so", "shared library"),
        ("-Wl,-plugin,/tmp/evil.so", "linker unchecked"),
        ("-Xlinker", "linker unchecked"),
        ("-include/etc/passwd", "pulls a file"),
        ("-lm", "links a library"),
        ("-I/etc", "outside the kit"),
        ("-L/usr/lib", "outside the kit"),
        (f"-I{TARGETS_DIR}/../..", "outside the kit"),
        ("-Iinclude", "relative folder"),
        ("-O2;touch pwned", "shell metacharacter"),
        ("-DNAME=$(id)", "shell metacharacter"),
        ('-DNAME="x"', "shell metacharacter"),
        ("-D", "next entry"),
        ("-Ofast", "not on the allow-list"),
        ("-mfpu=neon", "not on the allow-list"),
        ("-fdump-rtl-all", "not on the allow-list"),
    ],
)
def test_cflags_off_the_allow_list_are_refused_with_file_key_and_flag(tmp_path, flag, problem):
    path = _variant(tmp_path, CFLAGS, CFLAGS.replace('"-mthumb"', f"'{flag}'"))
    err = _refused(path, "cflags[1]", re.escape(f"flag {flag!r} ") + ".*" + re.escape(problem))
    assert "-mcpu=cortex-m*" in err.hint


@pytest.mark.parametrize("flag", [
    "-O0", "-Os", "-Og", "-mthumb", "-mcpu=cortex-m55+nomve", "-march=armv7e-m+fp", "-mtune=cortex-m7",
    "-mfpu=fpv5-sp-d16", "-mfloat-abi=softfp", "-DEN_EMULATE_DSP", "-DUART_FIFO=16", "-DX=-1",
    "-ffunction-sections", "-fno-unroll-loops", f"-I{TARGETS_DIR / 'cortex_m'}",
])
def test_code_generation_flags_are_allowed(flag):
    assert cflag_problem(flag) is None


def test_every_builtin_boards_flags_are_on_the_allow_list():
    for path in sorted(BOARDS_DIR.glob("*.toml")):
        board = load_board_file(path)
        if board.driver in DEVICE_DRIVERS:  # their cflags have their own rule (device.py)
            continue
        assert board.cflags and all(cflag_problem(f) is None for f in board.cflags), board.name


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ("clock_hz = 25_000_000\ncflags", "clock_hz = 100_000_000_000_000_000_000_000\ncflags", "clock_hz",
         "must be between 1,000 and 4,294,967,295, got 100,000,"),
        ("clock_hz = 25_000_000\ncflags", "clock_hz = 999\ncflags", "clock_hz", "must be between 1,000"),
        ("baud = 115200", "baud = 0", "uart.baud", "must be between 300 and"),
        ("baud = 115200", "baud = 1_000_000_000", "uart.baud", "must be between 300 and 20,000,000"),
        ("clock_hz = 25_000_000\n\n[timer]", "clock_hz = 10_000_000_000\n\n[timer]", "uart.clock_hz",
         "must be between"),
        ("size = 0x00400000\n\n[memory.psram]", "size = 0\n\n[memory.psram]", "memory.ram.size",
         "must be between 1 and"),
        ("origin = 0x60000000\nsize = 0x01000000", "origin = 0x60000000\nsize = 0x1_0000_0001",
         "memory.psram.size", "must be between 1 and 4,294,967,296"),
        ("origin = 0x60000000", "origin = 0x1_0000_0000_0000_0000_0000", "memory.psram.origin",
         "outside the 32-bit address space"),
        ("baud = 115200", "baud = 3_000_000", "uart.baud", "divider of 8, a cmsdk UART takes 16"),
    ],
)
def test_numbers_out_of_bounds_name_the_key_path(tmp_path, old, new, field, problem):
    _refused(_variant(tmp_path, old, new), field, re.escape(problem))


def test_usb_ids_and_stm32_divider_are_bounded(tmp_path):
    base = "nucleo-f746zg"
    _refused(_variant(tmp_path, "vid = 0x0483", "vid = 0x1_0483", base=base), "serial.vid", "must be between 1")
    _refused(_variant(tmp_path, "pids = [0x374B]", "pids = [0x374B, 0x10000]", base=base), "serial.pids[1]",
             "not a 16-bit USB product id")
    # 64 MHz / 300 baud = 213,333: more than the 16-bit BRR holds.
    _refused(_variant(tmp_path, "baud = 115200", "baud = 300", base="nucleo-h743zi2"), "uart.baud",
             "divider of 213333, a stm32 UART takes 16..65535")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("baud = 115200", "buad = 115200\nbaud = 115200", "uart.buad"),
        ("dsp = true", "dsp = true\nfpv = true", "features.fpv"),
        ("[memory.ram]\norigin = 0x20000000", "[memory.ram]\nsise = 1\norigin = 0x20000000", "memory.ram.sise"),
        ('kind = "systick"', 'kind = "systick"\nhz = 1', "timer.hz"),
        ('method = "none"', 'method = "none"\nprobe = "x"', "flash_method.probe"),
        ('kind = "qemu"', 'kind = "qemu"\nport = 1234', "serial.port"),
        ('machine = "mps2-an500"', 'machine = "mps2-an500"\ncpu = "max"', "qemu.cpu"),
    ],
)
def test_unknown_nested_keys_are_refused_with_their_path(tmp_path, old, new, field):
    err = _refused(_variant(tmp_path, old, new), field, "is not a known board field")
    assert f"known fields in `{field.rsplit('.', 1)[0]}`" in err.hint


def test_unknown_key_in_a_list_of_tables_names_its_index(tmp_path):
    path = _variant(tmp_path, "pin = 9, af = 7", "pin = 9, af = 7, pull = 1", base="nucleo-f746zg")
    _refused(path, "uart.pins[1].pull", "is not a known board field")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ('name = "mps2-an500"', "name = 'mps2\"; int x; \"'", "name"),
        ('machine = "mps2-an500"', 'machine = "-d exec"', "qemu.machine"),
        ('driver = "cortex_m"', 'driver = "../evil"', "driver"),
        ("[memory.psram]", '[memory."PSRAM */ INCLUDE /etc/x"]', "memory.PSRAM */ INCLUDE /etc/x"),
    ],
)
def test_strings_that_reach_code_or_commands_are_restricted(tmp_path, old, new, field):
    _refused(_variant(tmp_path, old, new), field, "is not a valid")


def test_pyocd_target_and_description_are_restricted(tmp_path):
    base = "nucleo-f746zg"
    _refused(_variant(tmp_path, 'target = "stm32f746zgtx"', 'target = "--script=x.py"', base=base),
             "flash_method.target", "is not a valid pyOCD target name")
    text = (BOARDS_DIR / f"{base}.toml").read_text()
    desc = re.search(r'description = ".*"', text).group(0)
    _refused(_variant(tmp_path, desc, 'description = "\\u001b[2J wiped"', base=base), "description",
             "printable characters")


def test_odd_files_give_board_errors_not_tracebacks(tmp_path):
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(BoardError, match="not UTF-8"):
        load_board_file(latin1)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(BoardError, match="nested too deeply") as e:
        load_board_file(deep)
    assert e.value.hint
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(BoardError, match="too large for a board profile"):
        load_board_file(big)
    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(BoardError, match="not a regular file"):
        load_board_file(tmp_path / "folder.toml")


HUGE_HEX = "0x" + "f" * 5000  # a 20000-bit integer: Python refuses to print it in decimal


@pytest.mark.parametrize(
    ("base", "old", "new", "problem"),
    [
        ("mps2-an500", "clock_hz = 25_000_000\ncflags", "clock_hz = " + "9" * 5000 + "\ncflags", "too large to read"),
        ("mps2-an500", "clock_hz = 25_000_000\ncflags", f"clock_hz = {HUGE_HEX}\ncflags",
         "field `clock_hz` must be between 1,000 and 4,294,967,295, got a 20000-bit number"),
        ("mps2-an500", 'name = "mps2-an500"', f"name = {HUGE_HEX}",
         "field `name` must be a string, got int a 20000-bit"),
        ("nucleo-f746zg", "pin = 9", f"pin = {HUGE_HEX}", "field `uart.pins.1..pin` = a 20000-bit number"),
    ],
)
def test_huge_integers_give_board_errors_not_tracebacks(tmp_path, base, old, new, problem):
    with pytest.raises(BoardError, match=problem):
        load_board_file(_variant(tmp_path, old, new, base=base))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_a_fifo_named_like_a_profile_does_not_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.toml")
    reg = BoardRegistry(entry_points=False, user_dir=tmp_path)
    assert len(reg.problems) == 1 and "not a regular file" in str(reg.problems[0])


def test_hostile_user_file_is_skipped_and_never_reaches_gcc(tmp_path):
    text = (BOARDS_DIR / "mps2-an386.toml").read_text().replace('name = "mps2-an386"', 'name = "evil"')
    (tmp_path / "evil.toml").write_text(text.replace('"-mthumb"', '"-wrapper,/bin/sh,-c,touch pwned"'))
    reg = BoardRegistry(entry_points=False, user_dir=tmp_path)
    assert "evil" not in reg.names() and "mps2-an386" in reg.names()
    assert re.search(r"evil\.toml: field `cflags\[1\]` flag '-wrapper", str(reg.problems[0]))


class _Plugin:
    def __init__(self, *paths) -> None:
        self.paths = paths

    @hookimpl
    def register_boards(self, register):
        for path in self.paths:
            register(path)


class _CrashingPlugin:
    @hookimpl
    def register_boards(self, register):
        raise RuntimeError("plugin bug")


def _with_plugins(monkeypatch, **plugins) -> BoardRegistry:
    def fake_entry_points(self, group, name=None):
        for plugin_name, plugin in plugins.items():
            self.register(plugin, name=plugin_name)
        return len(plugins)

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", fake_entry_points)
    return BoardRegistry(entry_points=True, user_dir=None)


def test_plugin_taking_a_builtin_name_needs_replaces_builtin(tmp_path, monkeypatch):
    shadow = tmp_path / "mps2-an500.toml"
    shutil.copy(BOARDS_DIR / "mps2-an500.toml", shadow)
    reg = _with_plugins(monkeypatch, acme=_Plugin(shadow))
    assert reg.get("mps2-an500").source.startswith("plugin:builtin")
    assert "has the name of a built-in board" in str(reg.problems[0])

    shadow.write_text("replaces_builtin = true\n" + shadow.read_text())
    reg = _with_plugins(monkeypatch, acme=_Plugin(shadow))
    assert reg.get("mps2-an500").source.startswith("plugin:acme") and reg.problems == []


def test_broken_plugins_are_reported_and_other_boards_still_load(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n')
    good = tmp_path / "acme-m7.toml"
    good.write_text((BOARDS_DIR / "mps2-an500.toml").read_text().replace('name = "mps2-an500"', 'name = "acme-m7"'))
    reg = _with_plugins(monkeypatch, acme=_Plugin(bad, good), crash=_CrashingPlugin())
    assert {"acme-m7", "mps2-an500"} <= set(reg.names())
    messages = " | ".join(str(p) for p in reg.problems)
    assert "bad.toml: field `core` is missing" in messages and "board plugin 'crash' failed" in messages

    def failing_import(self, group, name=None):
        raise ModuleNotFoundError("No module named 'edgenas_acme'")

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", failing_import)
    reg = BoardRegistry(entry_points=True, user_dir=None)
    assert "mps2-an500" in reg.names() and "edgenas_acme" in str(reg.problems[0])


def test_missing_ram_region_hint_keeps_its_brackets_in_the_cli(tmp_path, monkeypatch):
    text = (BOARDS_DIR / "mps2-an386.toml").read_text().replace('name = "mps2-an386"', 'name = "no-ram"')
    start = text.index("[memory.ram]")
    (tmp_path / "no-ram.toml").write_text(text[:start] + text[text.index("[memory.psram]"):])
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "_default", None)
    result = CliRunner().invoke(app, ["boards"])
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())  # undo Rich's line wrapping
    assert "field `memory.ram` is missing" in stderr
    assert "every board needs [memory.flash] and [memory.ram]" in stderr
