"""Board profile validation: every bad field is reported with the file and the field name."""

from __future__ import annotations

import re
import tomllib

import pytest

from edgenas.boards import DEVICE_DRIVERS, load_board_file
from edgenas.errors import BoardError
from edgenas.paths import BOARDS_DIR


def _write(tmp_path, name: str, text: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def _variant(tmp_path, old: str, new: str, base: str = "mps2-an500"):
    text = (BOARDS_DIR / f"{base}.toml").read_text()
    assert old in text, old
    return _write(tmp_path, base, text.replace(old, new, 1))


def test_every_builtin_file_loads_and_stem_equals_name():
    for path in sorted(BOARDS_DIR.glob("*.toml")):
        board = load_board_file(path)
        assert board.name == path.stem
        if board.driver in DEVICE_DRIVERS:  # phones and Linux boards: tests/boards/test_device_profiles.py
            continue
        assert board.flash.size_bytes > 0 and board.ram.size_bytes > 0
        assert not board.flash.overlaps(board.ram)


@pytest.mark.parametrize(
    ("old", "new", "field", "problem"),
    [
        ('core = "cortex-m7"\n', "", "core", "is missing"),
        ('core = "cortex-m7"', 'core = "cortex-m9"', "core", "is 'cortex-m9', expected one of"),
        ("clock_hz = 25_000_000", 'clock_hz = "fast"', "clock_hz", "must be an integer, got str"),
        ("clock_hz = 25_000_000", "clock_hz = true", "clock_hz", "must be an integer, got True"),
        ("clock_hz = 25_000_000", "clock_hz = 0", "clock_hz", "must be between 1,000 and"),
        ("[memory.ram]\norigin = 0x20000000", "[memory.ram]\norigin = 0x00100000", "memory.ram",
         "overlaps region `flash`"),
        ("[memory.ram]\norigin = 0x20000000\nsize = 0x00400000\n", "", "memory.ram", "is missing"),
        ('kind = "cmsdk"', 'kind = "pl011"', "uart.kind", "is 'pl011'"),
        ("base = 0x40004000", "base = 0x1_0000_0000", "uart.base", "outside the 32-bit address space"),
        ("dsp = true", 'dsp = "yes"', "features.dsp", "must be true/false"),
        ('"-mcpu=cortex-m7"', '"-mcpu=cortex-m4"', "cflags", "says -mcpu=cortex-m4 but core is 'cortex-m7'"),
        ('name = "mps2-an500"', 'name = "other"', "name", "but the file is named mps2-an500.toml"),
        ('[qemu]\nmachine = "mps2-an500"\n', "", "qemu.machine", "is missing but serial.kind is 'qemu'"),
        ('kind = "systick"', 'kind = "rtc"', "timer.kind", "is 'rtc'"),
        ('driver = "cortex_m"', 'driver = "cortex_m"\ncolour = "blue"', "colour", "is not a known board field"),
    ],
)
def test_invalid_fields_are_named(tmp_path, old, new, field, problem):
    path = _variant(tmp_path, old, new)
    with pytest.raises(BoardError) as e:
        load_board_file(path)
    msg = str(e.value)
    assert str(path) in msg
    assert f"field `{field}`" in msg
    assert re.search(re.escape(problem), msg), msg
    assert e.value.hint


def test_feature_the_core_cannot_have(tmp_path):
    path = _variant(tmp_path, 'fpu = "sp"', 'fpu = "dp"', base="mps2-an386")
    with pytest.raises(BoardError, match=r"field `features.fpu` 'fpu-dp' is not available on a cortex-m4"):
        load_board_file(path)


def test_usb_serial_needs_pids(tmp_path):
    path = _variant(tmp_path, "pids = [0x374B]", "pids = []", base="nucleo-f746zg")
    with pytest.raises(BoardError, match=r"field `serial.pids` must be a non-empty list"):
        load_board_file(path)


def test_bad_pin_entry_is_named_with_index(tmp_path):
    path = _variant(tmp_path, "pin = 9, af = 7", "pin = 19, af = 7", base="nucleo-f746zg")
    with pytest.raises(BoardError, match=r"field `uart.pins\[1\].pin` = 19 is outside 0..15"):
        load_board_file(path)


def test_bad_toml_and_missing_file(tmp_path):
    bad = _write(tmp_path, "broken", 'name = "broken"\ncore = \n')
    with pytest.raises(BoardError, match="invalid TOML"):
        load_board_file(bad)
    with pytest.raises(BoardError, match="cannot read board profile"):
        load_board_file(tmp_path / "nope.toml")


def test_extra_regions_are_kept_and_checked(tmp_path):
    board = load_board_file(BOARDS_DIR / "nucleo-h743zi2.toml")
    assert {r.name for r in board.extra_regions} == {"dtcm", "itcm", "sram_d2"}
    data = tomllib.loads((BOARDS_DIR / "nucleo-h743zi2.toml").read_text())
    assert data["memory"]["ram"]["origin"] == 0x24000000
    path = _variant(tmp_path, "[memory.dtcm]\norigin = 0x20000000", "[memory.dtcm]\norigin = 0x24010000",
                    base="nucleo-h743zi2")
    with pytest.raises(BoardError, match=r"field `memory.dtcm` .* overlaps region `ram`"):
        load_board_file(path)


def test_absurdly_deep_dotted_keys_are_refused_before_parsing(tmp_path):
    """tomllib is quadratic in a dotted key's depth (40,000 levels: 110 s, 6.3 GB): refuse it first."""
    import time

    path = tmp_path / "deep.toml"
    path.write_text("x." + ".".join(["a"] * 40000) + " = 1\n")
    started = time.perf_counter()
    with pytest.raises(BoardError, match="nested more than"):
        load_board_file(path)
    assert time.perf_counter() - started < 2.0
