"""Linker script generation and parsing ld's overflow messages."""

from __future__ import annotations

import pytest

from edgenas.boards import BoardRegistry
from edgenas.targets.cortex_m.linker import RegionOverflow, parse_overflows, render_linker_script


@pytest.fixture(scope="module")
def reg():
    return BoardRegistry(entry_points=False, user_dir=None)


def test_regions_come_from_the_board(reg):
    text = render_linker_script(reg.get("nucleo-h743zi2"), stack_bytes=4096)
    assert "FLASH (rx)  : ORIGIN = 0x08000000, LENGTH = 0x200000" in text
    assert "RAM   (rwx) : ORIGIN = 0x24000000, LENGTH = 0x80000" in text
    assert ". = . + 0x1000;" in text and "@" not in text.replace("@param", "")
    an547 = render_linker_script(reg.get("mps3-an547"))
    assert "ORIGIN = 0x00000000, LENGTH = 0x80000" in an547 and "ORIGIN = 0x20000000, LENGTH = 0x80000" in an547
    assert ". = . + 0x2000;" in an547  # default 8 KiB stack reserve


def test_weights_are_gathered_before_other_rodata(reg):
    text = render_linker_script(reg.get("mps2-an500"))
    assert text.index("*(.rodata.en_w_*") < text.index("*(.rodata .rodata.*)")


def test_bad_stack_size_rejected(reg):
    with pytest.raises(ValueError, match="multiple of 8"):
        render_linker_script(reg.get("mps2-an500"), stack_bytes=1001)


def test_parse_overflows_maps_regions_and_keeps_max():
    ld = (
        "/usr/bin/arm-none-eabi-ld: firmware.elf section `.en_weights' will not fit in region `FLASH'\n"
        "/usr/bin/arm-none-eabi-ld: region `FLASH' overflowed by 90112 bytes\n"
        "/usr/bin/arm-none-eabi-ld: region `RAM' overflowed by 12 bytes\n"
        "/usr/bin/arm-none-eabi-ld: region `FLASH' overflowed by 100 bytes\n"
        "collect2: error: ld returned 1 exit status\n"
    )
    assert parse_overflows(ld) == [RegionOverflow("flash", 90112), RegionOverflow("ram", 12)]
    assert parse_overflows("undefined reference to `foo'") == []


def test_arena_sits_between_its_guards_before_other_bss(reg):
    text = render_linker_script(reg.get("mps2-an500"))
    order = ["__en_arena_guard_lo = .;", "__en_arena_start = .;", "*(.bss.en_arena)", "__en_arena_end = .;",
             "__en_arena_guard_hi = .;", "*(.bss .bss.* COMMON)"]
    at = [text.index(s) for s in order]
    assert at == sorted(at)
    assert text.count(". = . + 0x10;") == 2  # 16 guard bytes each side
