"""Compiling ``runtime_c`` and a generated model with a hosted gcc (this PC's or a cross one):
the pieces the host build and the Linux runner share.

Runtime objects are compiled once per (compiler, flags, source bytes) and reused; the arena goes
between two guard regions that only a linker script can place, as the firmware's linker.ld.in does.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import ToolchainError
from ..paths import RUNTIME_C_DIR
from ..targets.cortex_m.linker import ARENA_GUARD_BYTES

# GNU ld script added to the default one (INSERT): the arena between two guard regions. C may
# place globals anywhere; only the linker can order them.
ARENA_GUARD_LD = f"""SECTIONS
{{
  .en_arena (NOLOAD) : ALIGN(16)
  {{
    __en_arena_guard_lo = .;
    . = . + {ARENA_GUARD_BYTES};
    __en_arena_start = .;
    KEEP(*(.bss.en_arena))
    __en_arena_end = .;
    . = . + {ARENA_GUARD_BYTES};
    __en_arena_guard_hi = .;
  }}
}}
INSERT AFTER .bss;
"""


def model_define(header: str, name: str) -> str:
    """The value of ``#define name`` in a generated ``model.h``."""
    m = re.search(rf"#define {name} (\S+)", header)
    if not m:
        raise ToolchainError(f"model.h lacks {name}", hint="regenerate the model with compile_graph()")
    return m.group(1)


def hash_files(h: "hashlib._Hash", files: list[Path]) -> None:
    """Feed each file's name and bytes to ``h``."""
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())


def compile_c(cmd: list[str], cwd: Path | None = None) -> None:
    """Run one compiler command; its stderr becomes a :class:`ToolchainError`."""
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        raise ToolchainError(f"{Path(cmd[0]).name} failed:\n{proc.stderr[-4000:]}",
                             hint="check that the generated model.c and runtime_c compile with: " + " ".join(cmd[:6]))


def runtime_objects(compiler: str, flags: list[str], root: Path, sources: list[Path]) -> list[Path]:
    """``sources`` of the runtime compiled into ``root/runtime-<hash>/`` once per (compiler, flags,
    every source and header's bytes); later builds reuse the objects."""
    headers = sorted((RUNTIME_C_DIR / "include").rglob("*.h")) + sorted((RUNTIME_C_DIR / "src").rglob("*.h"))
    h = hashlib.sha256(" ".join([compiler, *flags]).encode())
    hash_files(h, sources + headers)
    rt_dir = root / f"runtime-{h.hexdigest()[:20]}"
    objects = [rt_dir / (f.stem + ".o") for f in sources]
    if all(o.is_file() for o in objects):
        return objects
    tmp = root / f"runtime-tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    compile_c([compiler, *flags, "-I", str(RUNTIME_C_DIR / "include"), "-I", str(RUNTIME_C_DIR / "src"), "-c",
               *[str(f) for f in sources]], cwd=tmp)
    shutil.rmtree(rt_dir, ignore_errors=True)
    try:
        os.replace(tmp, rt_dir)
    except OSError:  # another process won the race with identical objects
        shutil.rmtree(tmp, ignore_errors=True)
    return objects
