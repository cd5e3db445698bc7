"""Build the Linux runner (``targets/linux/runner.c``) around one generated model.

The runner is the generated ``model.c`` with the portable ``runtime_c`` reference kernels (the
same code the host build and the firmware run), the firmware's arena guards and paint, and a
CLOCK_MONOTONIC profiler. One :class:`Toolchain` builds it for this PC (``gcc``) and another for
ARM64 Linux (``aarch64-linux-gnu-gcc``, linked static so it needs no libraries on a Pi, an
Android shell or ``qemu-aarch64``). Runtime objects and runners are cached under
``build/linux/`` by compiler, flags and every source's bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ToolchainError
from ...paths import REPO_ROOT, RUNTIME_C_DIR, TARGETS_DIR, require_dir
from ..cortex_m.linker import ARENA_GUARD_BYTES

RUNNER_DIR = TARGETS_DIR / "linux"
RUNNER_SOURCES = ("runner.c", "profile_clock.c")
ARENA_C = TARGETS_DIR / "cortex_m" / "arena.c"
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")

# GNU ld script added to the default one: the arena between two guard regions, as the firmware
# and the host build place it (only the linker can order them).
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


@dataclass(frozen=True)
class Toolchain:
    """A C compiler for one Linux ABI. ``arch`` is the ELF machine the runner is for."""

    cc: str
    arch: str
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    install_hint: str = "apt-get install gcc"

    def compiler(self) -> str:
        """Absolute path of ``cc``.

        Raises:
            ToolchainError: not on PATH.
        """
        path = shutil.which(self.cc)
        if path is None:
            raise ToolchainError(f"C compiler {self.cc!r} not found on PATH", hint=self.install_hint)
        return path

    def version(self) -> str:
        proc = subprocess.run([self.compiler(), "--version"], capture_output=True, text=True, check=False)
        return proc.stdout.splitlines()[0].strip() if proc.stdout else "unknown"


AARCH64 = Toolchain("aarch64-linux-gnu-gcc", "aarch64", ldflags=("-static",),
                    install_hint="apt-get install g++-aarch64-linux-gnu (or `make setup`)")
"""ARM64 Linux (Raspberry Pi OS 64-bit, Android's shell, qemu-aarch64), static so it runs anywhere."""

HOST = Toolchain("gcc", os.uname().machine)
"""This PC: the reference the ARM64 runner's outputs are compared with."""


@dataclass(frozen=True)
class RunnerBuild:
    """A built runner and what its ``model.h`` says (sizes in bytes)."""

    exe: Path
    toolchain: Toolchain
    model_name: str
    input_bytes: int
    output_bytes: int
    arena_bytes: int
    num_layers: int
    sources_sha256: str = field(default="", compare=False)
    """Hash of every source and flag that went into ``exe`` (part of a table's fingerprint)."""


def _define(header: str, name: str) -> str:
    m = re.search(rf"#define {name} (\S+)", header)
    if not m:
        raise ToolchainError(f"model.h lacks {name}", hint="regenerate the model with compile_graph()")
    return m.group(1)


def _hash_files(h: "hashlib._Hash", files: list[Path]) -> None:
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())


def _compile(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        raise ToolchainError(f"{Path(cmd[0]).name} failed:\n{proc.stderr[-4000:]}",
                             hint="check that the generated model.c and runtime_c compile with: " + " ".join(cmd[:6]))


def runtime_sources() -> list[Path]:
    """The portable runtime without its no-op profiler (the runner brings a real one)."""
    src = require_dir(RUNTIME_C_DIR / "src")
    return sorted((src / "ref").glob("*.c")) + sorted((src / "common").glob("*.c"))


def _runtime_objects(compiler: str, flags: list[str], root: Path) -> list[Path]:
    """Compile the runtime once per (compiler, flags, sources); later builds reuse the objects."""
    sources = runtime_sources()
    headers = sorted((RUNTIME_C_DIR / "include").rglob("*.h")) + sorted((RUNTIME_C_DIR / "src").rglob("*.h"))
    h = hashlib.sha256(" ".join([compiler, *flags]).encode())
    _hash_files(h, sources + headers)
    rt_dir = root / f"runtime-{h.hexdigest()[:20]}"
    objects = [rt_dir / (f.stem + ".o") for f in sources]
    if all(o.is_file() for o in objects):
        return objects
    tmp = root / f"runtime-tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    _compile([compiler, *flags, "-I", str(RUNTIME_C_DIR / "include"), "-I", str(RUNTIME_C_DIR / "src"), "-c",
              *[str(f) for f in sources]], cwd=tmp)
    shutil.rmtree(rt_dir, ignore_errors=True)
    try:
        os.replace(tmp, rt_dir)
    except OSError:  # another process won the race with identical objects
        shutil.rmtree(tmp, ignore_errors=True)
    return objects


def build_runner(model_dir: Path | str, toolchain: Toolchain = AARCH64, *, build_root: Path | None = None
                 ) -> RunnerBuild:
    """Compile ``model_dir``/model.c into a runner for ``toolchain`` (cached by content).

    Raises:
        ToolchainError: compiler missing, or compilation failed (its stderr included).
    """
    model_dir = Path(model_dir)
    header = (model_dir / "model.h").read_text()
    compiler = toolchain.compiler()
    flags = [*CFLAGS, *toolchain.cflags]
    root = Path(build_root) if build_root is not None else REPO_ROOT / "build" / "linux"
    objects = _runtime_objects(compiler, flags, root)
    runner_files = [RUNNER_DIR / n for n in RUNNER_SOURCES] + [RUNNER_DIR / "profile_clock.h", ARENA_C,
                                                               ARENA_C.with_suffix(".h")]
    h = hashlib.sha256(" ".join([compiler, *flags, *toolchain.ldflags, ARENA_GUARD_LD]).encode())
    _hash_files(h, [model_dir / "model.h", model_dir / "model.c", *runner_files, *objects])
    digest = h.hexdigest()
    out_dir = root / digest[:20]
    exe = out_dir / "en_runner"
    result = RunnerBuild(exe, toolchain, _define(header, "EN_MODEL_NAME").strip('"'),
                         int(_define(header, "EN_MODEL_INPUT_BYTES")), int(_define(header, "EN_MODEL_OUTPUT_BYTES")),
                         int(_define(header, "EN_ARENA_BYTES")), int(_define(header, "EN_MODEL_NUM_LAYERS")),
                         digest)
    if exe.is_file():
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.h", "model.c"):
        shutil.copyfile(model_dir / name, out_dir / name)
    (out_dir / "arena_guard.ld").write_text(ARENA_GUARD_LD)
    tmp = out_dir / f"en_runner.tmp{os.getpid()}"
    # -fdata-sections puts en_arena in .bss.en_arena, the section the guard script places.
    _compile([compiler, *flags, "-fdata-sections", "-I", str(out_dir), "-I", str(RUNNER_DIR),
              "-I", str(ARENA_C.parent), "-I", str(RUNTIME_C_DIR / "include"), "-o", str(tmp),
              str(out_dir / "model.c"), *[str(RUNNER_DIR / n) for n in RUNNER_SOURCES], str(ARENA_C),
              *[str(o) for o in objects], f"-Wl,-T,{out_dir / 'arena_guard.ld'}", *toolchain.ldflags])
    os.replace(tmp, exe)
    return result
