"""Traps that show whether a compiler flag ran a command or wrote a file it should not have.

Each hostile flag of the board-file probe points at something in the kit folder: a wrapper script,
a compiler/linker plugin whose constructor runs on load, a fake ``cc1`` behind ``-B``, a response
file, a specs file, or an output path. Whatever runs or writes leaves a ``CANARY*`` file in the kit
(or any file in its empty working folder, where ``-save-temps=cwd`` writes), so "commands executed"
is a file on disk, not a guess. :func:`control` proves each trap springs when the flag does reach gcc.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

PLUGIN_C = r"""#include <fcntl.h>
#include <unistd.h>
/* Runs when gcc or ld loads this file as a plugin, before any licence or version check. */
__attribute__((constructor)) static void canary(void) {
    int fd = open(CANARY, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
}
"""

# (label, flags): {kit} is the kit folder. Every one must be refused; those that ran or wrote
# something when handed to gcc directly are counted in the control.
HOSTILE_FLAGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wrapper", ("-wrapper", "{kit}/evil.sh")),
    ("wrapper_sh", ("-wrapper", "/bin/sh,-c,touch {kit}/CANARY.sh")),
    ("wrapper_one_entry", ("-wrapper {kit}/evil.sh",)),
    ("wrapper_eq", ("-wrapper={kit}/evil.sh",)),
    ("wrapper_double_dash", ("--wrapper", "{kit}/evil.sh")),
    ("fplugin", ("-fplugin={kit}/evil.so",)),
    ("fplugin_arg", ("-fplugin={kit}/evil.so", "-fplugin-arg-evil-x=1")),
    ("iplugindir", ("-iplugindir={kit}", "-fplugin=evil")),
    ("ld_plugin", ("-Wl,-plugin,{kit}/evil.so",)),
    ("xlinker_plugin", ("-Xlinker", "-plugin", "-Xlinker", "{kit}/evil.so")),
    ("B_joined", ("-B{kit}/bin/",)),
    ("B_split", ("-B", "{kit}/bin/")),
    ("specs", ("-specs={kit}/evil.specs",)),
    ("specs_double_dash", ("--specs={kit}/evil.specs",)),
    ("at_file", ("@{kit}/flags.rsp",)),
    ("save_temps_cwd", ("-save-temps=cwd",)),
    ("save_temps", ("-save-temps",)),
    ("save_temps_obj", ("-save-temps=obj",)),
    ("o_split", ("-o", "{kit}/CANARY.o")),
    ("o_joined", ("-o{kit}/CANARY.o",)),
    ("MD_MF", ("-MD", "-MF", "{kit}/CANARY.d")),
    ("Wp_MD", ("-Wp,-MD,{kit}/CANARY.wp",)),
    ("Wa_listing", ("-Wa,-adhln={kit}/CANARY.lst",)),
    ("Xassembler_listing", ("-Xassembler", "-adhln={kit}/CANARY.xlst")),
    ("Wl_map", ("-Wl,-Map={kit}/CANARY.map",)),
    ("Xlinker_map", ("-Xlinker", "-Map={kit}/CANARY.xmap")),
    ("aux_info", ("-aux-info", "{kit}/CANARY.aux")),
    ("dumpdir", ("-dumpdir", "{kit}/CANARY.dump-", "-fdump-tree-original")),
    ("fdump_tree", ("-fdump-tree-original",)),
    ("fstack_usage", ("-fstack-usage",)),
    ("fcallgraph_info", ("-fcallgraph-info",)),
    ("include_file", ("-include", "/etc/hostname")),
    ("imacros", ("-imacros", "/etc/hostname")),
    ("I_outside", ("-I/etc",)),
    ("I_relative", ("-Ikit",)),
    ("I_dotdot", ("-I{repo}/targets/../../../etc",)),
    ("isystem", ("-isystem", "/etc")),
    ("L_outside", ("-L/tmp",)),
    ("l_library", ("-l:evil.so",)),
    ("sysroot", ("--sysroot={kit}",)),
    ("T_script", ("-T{kit}/evil.ld",)),
    ("shell_subst", ("-DX=$(touch {kit}/CANARY.subst)",)),
    ("backtick", ("-DX=`touch {kit}/CANARY.bt`",)),
    ("semicolon", ("-mthumb;touch {kit}/CANARY.semi",)),
    ("newline", ("-mthumb\n-wrapper",)),
    ("nul_byte", ("-mthumb\u0000-save-temps",)),
    ("unicode_dash", ("\u2013wrapper", "{kit}/evil.sh")),
    ("D_split", ("-D", "X")),
    ("D_quoted", ('-DX="a b"',)),
    ("print_commands", ("-###",)),
)


class Kit:
    """The trap folder: ``evil.sh``, ``evil.so``, ``bin/cc1``, ``flags.rsp``, ``evil.specs``, ``cwd/``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.cwd = self.root / "cwd"

    def make(self) -> None:
        """Write the traps (once per run; workers open the same folder with ``Kit(root)``)."""
        self.cwd.mkdir(parents=True, exist_ok=True)
        script = f"#!/bin/sh\ntouch {self.root}/CANARY.$(basename \"$0\")\nexec \"$@\"\n"
        for path in (self.root / "evil.sh", self.root / "bin" / "cc1"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(script if path.name == "evil.sh" else
                            f"#!/bin/sh\ntouch {self.root}/CANARY.cc1\nexec {_real_cc1()} \"$@\"\n")
            path.chmod(0o755)
        (self.root / "flags.rsp").write_text(f"-wrapper {self.root}/evil.sh\n")
        (self.root / "evil.specs").write_text(f"*link:\n+ -Map={self.root}/CANARY.specs\n\n")
        (self.root / "evil.ld").write_text("INCLUDE /etc/hostname\n")
        (self.root / "plugin.c").write_text(PLUGIN_C)
        subprocess.run(["gcc", "-shared", "-fPIC", f'-DCANARY="{self.root}/CANARY.plugin"', "-o",
                        str(self.root / "evil.so"), str(self.root / "plugin.c")], check=True)

    def fill(self, text: str) -> str:
        from edgenas.paths import REPO_ROOT

        return text.replace("{kit}", str(self.root)).replace("{repo}", str(REPO_ROOT))

    def fired(self) -> list[str]:
        """Canary files, and anything written into the working folder."""
        return sorted(p.name for p in self.root.glob("CANARY*")) + sorted(f"cwd/{p.name}" for p in self.cwd.iterdir())

    def reset(self) -> None:
        for p in self.root.glob("CANARY*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        for p in self.cwd.iterdir():
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def _real_cc1() -> str:
    out = subprocess.run(["arm-none-eabi-gcc", "-print-prog-name=cc1"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "cc1"


@contextmanager
def chdir(path: Path):  # noqa: ANN201
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


FIRMWARE_OUTPUTS = {"gen", "linker.ld", "firmware.elf", "firmware.bin", "firmware.map", "build_command.txt", "build.log"}


def build_with(board, kit: Kit, out_dir: Path) -> tuple[str, list[str]]:  # noqa: ANN001 (Board)
    """Build the harness test model for ``board`` from the kit's working folder.

    Returns:
        (the build's outcome, files the build left that a firmware build does not make).
    """
    from edgenas.errors import EdgenasError
    from edgenas.targets.cortex_m import build_firmware
    from edgenas.targets.cortex_m.testmodel import TESTMODEL_DIR

    shutil.rmtree(out_dir, ignore_errors=True)
    with chdir(kit.cwd):
        try:
            build_firmware(TESTMODEL_DIR, board, out_dir, with_runtime=False)
            outcome = "built"
        except EdgenasError as e:
            outcome = type(e).__name__
        except ValueError as e:  # subprocess refuses an argument with a NUL byte before gcc starts
            outcome = f"ValueError: {e}"
    stray = sorted(p.name for p in out_dir.iterdir() if p.name not in FIRMWARE_OUTPUTS) if out_dir.is_dir() else []
    return outcome, stray


def control(kit: Kit, base, out_root: Path) -> dict[str, dict]:  # noqa: ANN001 (Board)
    """Each hostile flag handed straight to the firmware build (no loader): did its trap spring?"""
    rows = {}
    for label, flags in HOSTILE_FLAGS:
        kit.reset()
        board = dataclasses.replace(base, cflags=base.cflags + tuple(kit.fill(f) for f in flags))
        outcome, stray = build_with(board, kit, out_root / label)
        rows[label] = {"build": outcome, "fired": kit.fired() + stray}
    kit.reset()
    return rows
