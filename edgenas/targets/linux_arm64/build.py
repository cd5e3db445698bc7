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
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ToolchainError
from ...paths import REPO_ROOT, RUNTIME_C_DIR, TARGETS_DIR, require_dir
from ...deploy.c_build import ARENA_GUARD_LD, compile_c, hash_files, model_define, runtime_objects

RUNNER_DIR = TARGETS_DIR / "linux"
RUNNER_SOURCES = ("runner.c", "profile_clock.c")
ARENA_C = TARGETS_DIR / "cortex_m" / "arena.c"
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")

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


def runtime_sources() -> list[Path]:
    """The portable runtime without its no-op profiler (the runner brings a real one)."""
    src = require_dir(RUNTIME_C_DIR / "src")
    return sorted((src / "ref").glob("*.c")) + sorted((src / "common").glob("*.c"))


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
    objects = runtime_objects(compiler, flags, root, runtime_sources())
    runner_files = [RUNNER_DIR / n for n in RUNNER_SOURCES] + [RUNNER_DIR / "profile_clock.h", ARENA_C,
                                                               ARENA_C.with_suffix(".h")]
    h = hashlib.sha256(" ".join([compiler, *flags, *toolchain.ldflags, ARENA_GUARD_LD]).encode())
    hash_files(h, [model_dir / "model.h", model_dir / "model.c", *runner_files, *objects])
    digest = h.hexdigest()
    out_dir = root / digest[:20]
    exe = out_dir / "en_runner"
    result = RunnerBuild(exe, toolchain, model_define(header, "EN_MODEL_NAME").strip('"'),
                         int(model_define(header, "EN_MODEL_INPUT_BYTES")), int(model_define(header, "EN_MODEL_OUTPUT_BYTES")),
                         int(model_define(header, "EN_ARENA_BYTES")), int(model_define(header, "EN_MODEL_NUM_LAYERS")),
                         digest)
    if exe.is_file():
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("model.h", "model.c"):
        shutil.copyfile(model_dir / name, out_dir / name)
    (out_dir / "arena_guard.ld").write_text(ARENA_GUARD_LD)
    tmp = out_dir / f"en_runner.tmp{os.getpid()}"
    # -fdata-sections puts en_arena in .bss.en_arena, the section the guard script places.
    compile_c([compiler, *flags, "-fdata-sections", "-I", str(out_dir), "-I", str(RUNNER_DIR),
              "-I", str(ARENA_C.parent), "-I", str(RUNTIME_C_DIR / "include"), "-o", str(tmp),
              str(out_dir / "model.c"), *[str(RUNNER_DIR / n) for n in RUNNER_SOURCES], str(ARENA_C),
              *[str(o) for o in objects], f"-Wl,-T,{out_dir / 'arena_guard.ld'}", *toolchain.ldflags])
    os.replace(tmp, exe)
    return result
