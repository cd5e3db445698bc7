"""Board registry: built-ins load through the plugin hook, lookups, defaults, user files."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from edgenas.boards import BoardRegistry, board_for_target, get_board, hookimpl, list_boards
from edgenas.errors import BoardError
from edgenas.paths import BOARDS_DIR

BUILTIN = {"mps2-an500", "mps2-an386", "mps3-an547", "nucleo-f746zg", "nucleo-h743zi2", "disco-f746ng",
           "pixel-cpu", "android-arm64", "raspberry-pi-4", "qemu-arm64"}


@pytest.fixture
def registry() -> BoardRegistry:
    return BoardRegistry(entry_points=False, user_dir=None)


def test_builtins_are_registered_through_the_builtin_plugin(registry):
    assert set(registry.names()) == BUILTIN
    assert all(b.source.startswith("plugin:builtin") for b in registry.boards())


def test_qemu_boards_memory_maps_match_qemu(registry):
    an500, an386, an547 = (registry.get(n) for n in ("mps2-an500", "mps2-an386", "mps3-an547"))
    # hw/arm/mps2.c: ZBT SSRAM1 4 MiB @0, SSRAM2&3 4 MiB @0x20000000
    for b in (an500, an386):
        assert (b.flash.origin, b.flash.size_bytes) == (0x0, 4 << 20)
        assert (b.ram.origin, b.ram.size_bytes) == (0x20000000, 4 << 20)
        assert b.uart.base == 0x40004000 and b.timer == "systick" and b.counter_unit == "instructions"
    # hw/arm/mps2-tz.c AN547: ITCM 512 KiB @0 (INITSVTOR 0), DTCM 512 KiB @0x20000000, UART0 S alias
    assert (an547.flash.origin, an547.flash.size_bytes) == (0x0, 512 << 10)
    assert (an547.ram.origin, an547.ram.size_bytes) == (0x20000000, 512 << 10)
    assert an547.uart.base == 0x59303000 and an547.mve and an547.core == "cortex-m55"
    assert an500.qemu_machine == "mps2-an500" and an547.clock_hz == 32_000_000


def test_real_boards_use_dwt_pyocd_and_stlink(registry):
    for name in ("nucleo-f746zg", "nucleo-h743zi2", "disco-f746ng"):
        b = registry.get(name)
        assert not b.emulated and b.timer == "dwt" and b.counter_unit == "cycles"
        assert b.flash.origin == 0x08000000 and b.flash_method.method == "pyocd"
        assert b.serial.kind == "usb" and b.serial.vid == 0x0483
        assert b.uart.kind == "stm32" and len(b.uart.pins) == 2
    assert registry.get("nucleo-h743zi2").flash.size_bytes == 2 << 20
    assert registry.get("nucleo-f746zg").ram.size_bytes == 320 << 10


def test_board_for_target_defaults_per_core(registry):
    assert registry.for_target("cortex-m7").name == "mps2-an500"
    assert registry.for_target("cortex-m4").name == "mps2-an386"
    assert registry.for_target("cortex-m55").name == "mps3-an547"
    assert registry.for_target("nucleo-f746zg").name == "nucleo-f746zg"
    with pytest.raises(BoardError, match="unknown target 'cortex-m9'") as e:
        registry.for_target("cortex-m9")
    assert "cortex-m7" in e.value.hint


def test_unknown_board_hint_lists_close_names(registry):
    with pytest.raises(BoardError, match="unknown board 'nucleo-f746'") as e:
        registry.get("nucleo-f746")
    assert "nucleo-f746zg" in e.value.hint


def test_module_level_api_uses_default_registry():
    assert BUILTIN <= {b.name for b in list_boards()}
    assert get_board("mps2-an386").core == "cortex-m4"
    assert board_for_target("cortex-m55").name == "mps3-an547"


def test_user_dir_adds_boards_and_replaces_a_builtin_only_when_told(tmp_path, monkeypatch):
    src = (BOARDS_DIR / "mps2-an386.toml").read_text()
    slow = src.replace("clock_hz = 25_000_000\ncflags", "clock_hz = 1_000_000\ncflags")
    (tmp_path / "my-m4.toml").write_text(src.replace('name = "mps2-an386"', 'name = "my-m4"'))
    (tmp_path / "mps2-an386.toml").write_text(slow)
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    reg = BoardRegistry(entry_points=False)
    assert reg.get("my-m4").source.startswith("user")
    assert reg.get("mps2-an386").clock_hz == 25_000_000  # a same-named file alone does not replace it
    assert len(reg.problems) == 1 and "has the name of a built-in board" in str(reg.problems[0])
    assert "replaces_builtin = true" in reg.problems[0].hint

    (tmp_path / "mps2-an386.toml").write_text("replaces_builtin = true\n" + slow)
    reg = BoardRegistry(entry_points=False)
    assert reg.get("mps2-an386").clock_hz == 1_000_000 and reg.get("mps2-an386").source.startswith("user")
    assert reg.problems == []


def test_invalid_user_file_names_file_and_field(tmp_path):
    src = (BOARDS_DIR / "mps2-an500.toml").read_text().replace('core = "cortex-m7"', 'core = "cortex-m9"')
    (tmp_path / "mps2-an500.toml").write_text(src)
    reg = BoardRegistry(entry_points=False, user_dir=tmp_path)  # reported and skipped, not fatal
    assert len(reg.problems) == 1
    assert re.search(r"mps2-an500\.toml: field `core` is 'cortex-m9'", str(reg.problems[0]))
    assert reg.get("mps2-an500").core == "cortex-m7"  # the built-in stays


class _Plugin:
    """A third-party plugin, registered the way an entry point would be."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def register_boards(self, register):
        register(self.path)


def test_third_party_hookimpl_and_duplicate_detection(tmp_path, monkeypatch):
    board = tmp_path / "acme-m7.toml"
    shutil.copy(BOARDS_DIR / "mps2-an500.toml", board)
    board.write_text(board.read_text().replace('name = "mps2-an500"', 'name = "acme-m7"'))
    import pluggy

    def fake_entry_points(self, group, name=None):  # stands in for an installed distribution
        self.register(_Plugin(board), name="acme")
        return 1

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", fake_entry_points)
    reg = BoardRegistry(entry_points=True, user_dir=None)
    assert reg.get("acme-m7").source.startswith("plugin:acme")

    dup = tmp_path / "dup" / "acme-m7.toml"
    dup.parent.mkdir()
    shutil.copy(board, dup)

    def dup_entry_points(self, group, name=None):
        self.register(_Plugin(board), name="acme")
        self.register(_Plugin(dup), name="dupe")
        return 2

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", dup_entry_points)
    reg = BoardRegistry(entry_points=True, user_dir=None)  # reported, the first one kept
    assert reg.get("acme-m7").source.startswith("plugin:acme")
    assert len(reg.problems) == 1 and "defined twice" in str(reg.problems[0])
