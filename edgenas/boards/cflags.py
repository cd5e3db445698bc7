"""The compiler flags a board profile may hand to gcc: an allow-list, never a deny-list.

A profile's ``cflags`` go straight onto the ``arm-none-eabi-gcc`` command line, and a profile may
come from ``EDGENAS_BOARDS_DIR`` or a plugin. gcc runs whatever ``-wrapper`` names, reads
``-specs=`` files that can run commands, loads ``-fplugin`` code, writes where ``-o`` and
``-save-temps`` point and reads more flags from ``@file``: listing bad flags would always miss
one, so only flags that shape code generation for the board's core are let through.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..paths import RUNTIME_C_DIR, TARGETS_DIR

OPT_FLAGS = frozenset({"-O0", "-O1", "-O2", "-O3", "-Os", "-Og"})
MACHINE_FLAGS = frozenset({"-mthumb", "-mlittle-endian", "-munaligned-access", "-mno-unaligned-access",
                           "-mslow-flash-data"})
# Optimisation switches only: none of them reads or writes a file or runs a program.
F_FLAGS = frozenset(f"-f{name}" for name in (
    "function-sections", "data-sections", "no-common", "short-enums", "no-short-enums",
    "unroll-loops", "no-unroll-loops", "omit-frame-pointer", "no-omit-frame-pointer",
    "strict-aliasing", "no-strict-aliasing", "inline-functions", "no-inline-functions",
    "tree-vectorize", "no-tree-vectorize", "no-builtin", "no-math-errno", "single-precision-constant",
    "no-jump-tables",
))
FPU_NAMES = ("auto", "none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16")
FLOAT_ABIS = ("soft", "softfp", "hard")

_PATTERNS = (
    re.compile(r"-mcpu=cortex-m[0-9a-z]+(\+[a-z0-9.]+)*"),
    re.compile(r"-mtune=cortex-m[0-9a-z]+"),
    re.compile(r"-march=armv[0-9][0-9a-z.\-]*(\+[a-z0-9.]+)*"),
    re.compile(r"-mfpu=(" + "|".join(FPU_NAMES) + ")"),
    re.compile(r"-mfloat-abi=(" + "|".join(FLOAT_ABIS) + ")"),
    # A macro name is a C identifier; a value is a number or an identifier, never quotes or spaces.
    re.compile(r"-D[A-Za-z_][A-Za-z0-9_]{0,63}(=[A-Za-z0-9_.+\-]{1,64})?"),
)
# Include and library folders must lie inside the kit: targets/ or runtime_c/ of this tree.
KIT_DIRS = (TARGETS_DIR, RUNTIME_C_DIR)

# Why the best-known dangerous flags are refused, so the error says more than "not allowed".
_DANGERS = (
    ("-wrapper", "runs any program in place of the compiler passes"),
    ("-save-temps", "writes intermediate files into the working folder"),
    ("-B", "makes gcc run its passes from another folder"),
    ("-specs", "reads a specs file, which can run commands"),
    ("--specs", "reads a specs file, which can run commands"),
    ("@", "reads more flags from a file"),
    ("-o", "chooses where gcc writes its output"),
    ("-fplugin", "loads a shared library into the compiler"),
    ("-Wl,", "passes options to the linker unchecked"),
    ("-Xlinker", "passes options to the linker unchecked"),
    ("-Wa,", "passes options to the assembler unchecked"),
    ("-Xassembler", "passes options to the assembler unchecked"),
    ("-Wp,", "passes options to the preprocessor unchecked"),
    ("-include", "pulls a file into every compile"),
    ("-imacros", "pulls a file into every compile"),
    ("-l", "links a library of the profile's choosing"),
)
_SHELL_CHARS = re.compile(r"[\s;&|`$<>()'\"\\*?!{}\[\]#~]")

ALLOWED_SUMMARY = ("-O0..-O3/-Os/-Og, -mcpu=cortex-m*, -mtune=, -march=armv*, -mfpu=, -mfloat-abi=, -mthumb, "
                   "-DNAME[=VALUE], -I/-L inside targets/ or runtime_c/, and a fixed set of -f optimisation flags")


def cflag_problem(flag: str) -> str | None:
    """Why ``flag`` may not reach gcc, or None if it is on the allow-list."""
    if flag in OPT_FLAGS or flag in MACHINE_FLAGS or flag in F_FLAGS:
        return None
    if any(p.fullmatch(flag) for p in _PATTERNS):
        return None
    if flag[:2] in ("-I", "-L") and len(flag) > 2:
        return _kit_path_problem(flag[2:])
    for prefix, why in _DANGERS:
        if flag.startswith(prefix):
            return f"is refused: it {why}"
    if _SHELL_CHARS.search(flag):
        return "contains a space or shell metacharacter"
    if flag in ("-D", "-I", "-L"):
        return "has its value in the next entry; write it as one entry (-DNAME=VALUE, -I/path)"
    return "is not on the allow-list of board compiler flags"


def _kit_path_problem(directory: str) -> str | None:
    """-I/-L must name an absolute folder inside the kit (gcc would read a relative one from the cwd)."""
    if _SHELL_CHARS.search(directory):
        return "contains a space or shell metacharacter"
    path = Path(directory)
    if not path.is_absolute():
        return "names a relative folder; -I/-L need an absolute folder inside targets/ or runtime_c/"
    resolved = path.resolve()
    if any(resolved.is_relative_to(kit.resolve()) for kit in KIT_DIRS):
        return None
    return "reaches a folder outside the kit (targets/, runtime_c/)"
