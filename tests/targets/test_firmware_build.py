"""Firmware builds for every board, memory accounting from the ELF, and link-time overflow errors."""

from __future__ import annotations

import pytest

from edgenas.errors import MemoryOverflowError, ToolchainError
from edgenas.targets.cortex_m.build import board_config_header, build_firmware, runtime_sources
from edgenas.targets.cortex_m.elf import elf_memory
from edgenas.targets.cortex_m.testmodel import TESTMODEL_DIR

from tests.targets.board_names import EMULATED, REAL


@pytest.mark.parametrize("name", EMULATED + REAL)
@pytest.mark.slow
def test_testmodel_builds_and_links_for_every_board(build_testmodel, boards, name):
    fw = build_testmodel(name)
    assert fw.elf.is_file() and fw.bin.is_file()
    mem = elf_memory(fw.elf)
    board = boards.get(name)
    # The fixture's weights: en_w_dense (16*256 int8) + en_w_bias (16 int32).
    assert mem["weights_bytes"] == 16 * 256 + 16 * 4
    assert mem["arena_bytes"] == 1024
    assert mem["stack_reserve_bytes"] == 8192
    assert mem["ram_bytes"] == mem["data_bytes"] + mem["bss_bytes"] + 8192
    assert mem["flash_bytes"] == fw.bin.stat().st_size  # the .bin is exactly the flash image
    # Kit + harness must stay lean: code without weights well under the 25 KB target.
    assert mem["flash_bytes"] - mem["weights_bytes"] < 25 * 1024
    assert mem["code_bytes"] > 500
    assert mem["flash_bytes"] <= board.flash.size_bytes and mem["ram_bytes"] <= board.ram.size_bytes


@pytest.mark.slow
def test_vector_table_points_into_flash(build_testmodel, boards):
    fw = build_testmodel("nucleo-f746zg")
    board = boards.get("nucleo-f746zg")
    head = fw.bin.read_bytes()[:8]
    sp, reset = int.from_bytes(head[:4], "little"), int.from_bytes(head[4:], "little")
    assert board.ram.origin < sp <= board.ram.end and sp % 8 == 0
    assert board.flash.contains(reset & ~1) and reset & 1  # Thumb bit set


def test_board_config_header_carries_uart_pins():
    from edgenas.boards import BoardRegistry

    h = board_config_header(BoardRegistry(entry_points=False, user_dir=None).get("disco-f746ng"))
    assert "#define EN_UART_BASE 0x40011000u" in h
    assert "{0x40020000u, 9u, 7u}" in h and "{0x40020400u, 7u, 7u}" in h
    assert "#define EN_COUNTER_HZ 16000000u" in h and "#define EN_HAS_FPU 1" in h


@pytest.mark.slow
def test_os_build_is_smaller_than_o2(build_testmodel):
    o2 = elf_memory(build_testmodel("mps2-an386").elf)["code_bytes"]
    os_ = elf_memory(build_testmodel("mps2-an386", opt="-Os").elf)["code_bytes"]
    assert os_ < o2


@pytest.mark.slow
def test_too_many_weights_names_flash_region_and_bytes(build_testmodel, boards):
    board = boards.get("mps3-an547")  # 512 KiB ITCM as flash
    with pytest.raises(MemoryOverflowError) as e:
        build_testmodel("mps3-an547", defines={"EN_TESTMODEL_PAD_BYTES": 600 * 1024})
    base = elf_memory(build_testmodel("mps3-an547").elf)["flash_bytes"]
    msg = str(e.value)
    assert "mps3-an547" in msg and f"`flash` of {board.flash.size_bytes} bytes by" in msg
    over = int(msg.split(" by ")[1].split(" bytes")[0])
    # The pad adds 600 KiB of weights; what does not fit is that plus the image, minus 512 KiB.
    assert abs(over - (base + 600 * 1024 - board.flash.size_bytes)) <= 64


@pytest.mark.slow
def test_too_big_arena_names_ram_region(build_testmodel):
    with pytest.raises(MemoryOverflowError, match=r"overflows `ram` of 524288 bytes by \d+ bytes") as e:
        build_testmodel("mps3-an547", defines={"EN_TESTMODEL_ARENA_EXTRA": 520 * 1024})
    assert e.value.hint


@pytest.mark.slow
def test_compile_error_and_bad_opt_are_toolchain_errors(tmp_path, boards):
    bad = tmp_path / "model"
    bad.mkdir()
    (bad / "model.h").write_text((TESTMODEL_DIR / "model.h").read_text())
    (bad / "model.c").write_text('#include "model.h"\nint en_model_invoke(const int8_t *in, int8_t *out) { return nope; }\n')
    with pytest.raises(ToolchainError, match="nope"):
        build_firmware(bad, boards.get("mps2-an500"), tmp_path / "out", with_runtime=False)
    with pytest.raises(ToolchainError, match="unknown optimisation level"):
        build_firmware(TESTMODEL_DIR, boards.get("mps2-an500"), tmp_path / "out", opt="-O9")


def test_runtime_sources_pick_arm_variants_on_dsp_cores(boards):
    from edgenas.paths import RUNTIME_C_DIR

    src = RUNTIME_C_DIR / "src"
    chosen = runtime_sources(boards.get("mps2-an386"))
    assert all(p.name != "profile_none.c" for p in chosen)
    assert len({p.name for p in chosen}) == len(chosen)  # one file per kernel
    for p in src.glob("arm/*.c"):
        assert p in chosen and src / "ref" / p.name not in chosen
    for p in src.glob("ref/*.c"):
        assert p in chosen or (src / "arm" / p.name) in chosen
    for p in src.glob("common/*.c"):
        assert p in chosen


@pytest.mark.slow
def test_firmware_with_runtime_kernels_builds(build_testmodel):
    fw = build_testmodel("mps2-an386", with_runtime=True)
    assert any("runtime_c" in str(p) for p in fw.sources) or not runtime_sources(fw.board)
    assert elf_memory(fw.elf)["flash_bytes"] - elf_memory(fw.elf)["weights_bytes"] < 25 * 1024
