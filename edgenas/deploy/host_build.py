"""Build a compiled model for the host with gcc and run it on batches of inputs.

The host build is the fast correctness path: the same generated ``model.c`` and the same
portable ``runtime_c`` reference kernels that go into firmware, linked with no-op profiling
hooks and a tiny driver that streams inputs from stdin to outputs on stdout. As on the device,
the arena sits between guard regions checked after every inference (an overrun is an
ArenaOverrunError, not a wrong answer) and is painted, so a run reports the arena it touched.
Executables are cached under ``build/host/<hash>/`` keyed by the compiler, flags and every
source's bytes, so rebuilding an unchanged model is free.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ArenaOverrunError, DeviceError, ToolchainError
from ..paths import REPO_ROOT, RUNTIME_C_DIR, TARGETS_DIR, require_dir
from .c_build import ARENA_GUARD_LD, compile_c, hash_files, model_define, runtime_objects

DEFAULT_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")

DRIVER_C = r"""/* edgenas host driver: stdin holds N inputs of EN_MODEL_INPUT_BYTES each; stdout gets N
 * outputs of EN_MODEL_OUTPUT_BYTES. Exit 0 ok, 2 on a short input, 3 if the model fails, 4 if it
 * wrote outside its arena, 5 if the arena is not between its guards. With EN_ARENA_GUARDS the
 * arena is painted and fenced around every inference (targets/cortex_m/arena.c, the firmware's
 * code) and the last stderr line gives the most arena bytes any input touched. */
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#if EN_ARENA_GUARDS
#include "arena.h"
#endif

int main(void) {
    static int8_t in[EN_MODEL_INPUT_BYTES];
    static int8_t out[EN_MODEL_OUTPUT_BYTES];
    /* Use every model.h constant once so a malformed one fails the build. */
    static const float scales[2] = {EN_MODEL_INPUT_SCALE, EN_MODEL_OUTPUT_SCALE};
    static const int32_t zps[2] = {EN_MODEL_INPUT_ZERO_POINT, EN_MODEL_OUTPUT_ZERO_POINT};
    static const uint32_t sizes[4] = {EN_ARENA_BYTES, EN_ARENA_LOWER_BOUND_BYTES, EN_MODEL_FLASH_BYTES,
                                      EN_MODEL_NUM_LAYERS};
    (void)scales;
    (void)zps;
    (void)sizes;
#if EN_ARENA_GUARDS
    uint32_t touched = 0;
    if (en_arena_size_bytes() != (uint32_t)EN_ARENA_BYTES) {
        fprintf(stderr, "en_host: arena_layout guarded=%lu arena=%lu\n", (unsigned long)en_arena_size_bytes(),
                (unsigned long)EN_ARENA_BYTES);
        return 5;
    }
#endif
    for (unsigned long n = 0;; ++n) {
        size_t got = fread(in, 1, sizeof in, stdin);
        if (got == 0 && feof(stdin)) {
#if EN_ARENA_GUARDS
            fprintf(stderr, "en_host: arena_touched_bytes=%lu\n", (unsigned long)touched);
#endif
            return 0;
        }
        if (got != sizeof in) {
            fprintf(stderr, "en_host: short input (%lu of %d bytes)\n", (unsigned long)got,
                    EN_MODEL_INPUT_BYTES);
            return 2;
        }
#if EN_ARENA_GUARDS
        en_arena_prepare();
#endif
        int st = en_model_invoke(in, out);
#if EN_ARENA_GUARDS
        /* Guards before the status: after an overrun nothing the model says can be trusted. */
        const uint32_t above = en_arena_overrun_above(), below = en_arena_overrun_below();
        if (above != 0u || below != 0u) {
            fprintf(stderr, "en_host: arena_overrun input=%lu side=%s reach=%lu\n", n, above ? "above" : "below",
                    (unsigned long)(above ? above : below));
            return 4;
        }
        const uint32_t t = en_arena_touched_bytes();
        touched = t > touched ? t : touched;
#endif
        if (st != 0) {
            fprintf(stderr, "en_host: en_model_invoke failed with status %d\n", st);
            return 3;
        }
        if (fwrite(out, 1, sizeof out, stdout) != sizeof out) {
            return 2;
        }
    }
}
"""

ARENA_SOURCES = (TARGETS_DIR / "cortex_m" / "arena.c", TARGETS_DIR / "cortex_m" / "arena.h")

_OVERRUN = re.compile(r"en_host: arena_overrun input=(\d+) side=(above|below) reach=(\d+)")
_TOUCHED = re.compile(r"en_host: arena_touched_bytes=(\d+)")


@dataclass(frozen=True)
class HostRun:
    """Outputs of a host run and what the painted arena says about it.

    ``arena_touched_bytes``: the most arena bytes any input used (highest byte written, from the
    arena start), or None for a sanitizer build (AddressSanitizer guards the arena itself).
    """

    outputs: np.ndarray
    arena_touched_bytes: int | None


@dataclass(frozen=True)
class HostModel:
    """A built host executable and its I/O sizes (from model.h).

    ``stream``: the model keeps state from one input to the next (the keyword firmware takes audio
    hop by hop, :mod:`.audio_model`), so a run's rows are one stream: they all go, in order, to one
    process, which starts from power-on; rows of separate runs never share state.
    """

    exe: Path
    input_bytes: int
    output_bytes: int
    arena_bytes: int = 0
    guarded: bool = True
    stream: bool = False

    def run(self, inputs: np.ndarray, timeout_s: float = 120.0, chunk: int = 1000) -> np.ndarray:
        """Run every row of ``inputs`` (int8, ``(B, input_bytes)`` or anything reshaping to it).

        Rows go to the executable ``chunk`` at a time and ``timeout_s`` bounds each chunk, so a
        big model over a whole test split is not cut off by a limit meant for a hung process. A
        ``stream`` model takes every row in one process, within ``timeout_s`` per ``chunk`` rows.

        Returns:
            int8 outputs, shape ``(B, output_bytes)``.

        Raises:
            ArenaOverrunError: an input made the model write outside its arena.
            DeviceError: the executable failed or returned the wrong number of bytes.
        """
        return self.run_measured(inputs, timeout_s, chunk).outputs

    def run_measured(self, inputs: np.ndarray, timeout_s: float = 120.0, chunk: int = 1000) -> HostRun:
        """:meth:`run`, also returning the arena bytes touched (see :class:`HostRun`)."""
        batch = np.ascontiguousarray(np.asarray(inputs, dtype=np.int8).reshape(-1, self.input_bytes))
        if self.stream:
            timeout_s *= max(1, -(-len(batch) // chunk))
            chunk = max(1, len(batch))
        outs, touched = [], 0
        for i in range(0, len(batch), chunk):
            y, t = self._run_rows(batch[i : i + chunk], timeout_s, first=i)
            outs.append(y)
            touched = max(touched, t)
        out = np.concatenate(outs) if outs else np.empty((0, self.output_bytes), dtype=np.int8)
        return HostRun(out, touched if self.guarded else None)

    def _run_rows(self, batch: np.ndarray, timeout_s: float, first: int) -> tuple[np.ndarray, int]:
        try:
            proc = subprocess.run([str(self.exe)], input=batch.tobytes(), capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as e:
            raise DeviceError(f"{self.exe} did not finish {len(batch)} inputs in {timeout_s} s",
                              hint="the executable hangs, or the machine is heavily loaded") from e
        stderr = proc.stderr.decode(errors="replace")
        overrun = _OVERRUN.search(stderr)
        if proc.returncode == 4 and overrun:
            n, side, reach = overrun.groups()
            raise ArenaOverrunError.at(f"in the host build (input {first + int(n)})", side, int(reach), self.arena_bytes)
        if proc.returncode == 5:
            raise ToolchainError(f"{self.exe}: the arena is not between its guards ({stderr.strip()[-300:]})",
                                 hint="the host link must place .bss.en_arena with the arena guard script; "
                                      "rebuild with build_host()")
        if proc.returncode != 0:
            raise DeviceError(
                f"{self.exe} exited with {proc.returncode}: {stderr.strip()[-2000:]}",
                hint="a kernel rejected its arguments or the build is broken: rerun with EDGENAS_DEBUG=1 and report it "
                     "with the model (in Python, build_host(..., sanitize=True) locates the fault)",
            )
        expected = batch.shape[0] * self.output_bytes
        if len(proc.stdout) != expected:
            raise DeviceError(f"{self.exe} wrote {len(proc.stdout)} bytes, expected {expected}",
                              hint="rebuild: model.h and the executable disagree")
        touched = _TOUCHED.search(stderr)
        y = np.frombuffer(proc.stdout, dtype=np.int8).reshape(batch.shape[0], self.output_bytes).copy()
        return y, int(touched.group(1)) if touched else 0


def runtime_sources() -> list[Path]:
    """The portable runtime: reference kernels, shared checks and the no-op profiler."""
    src = require_dir(RUNTIME_C_DIR / "src")
    files = sorted((src / "ref").glob("*.c")) + sorted((src / "common").glob("*.c")) + [src / "profile_none.c"]
    return [f for f in files if f.is_file()]


def build_host(
    model_dir: str | Path,
    *,
    build_root: str | Path | None = None,
    cc: str = "gcc",
    sanitize: bool = False,
    extra_cflags: tuple[str, ...] = (),
    extra_sources: Sequence[Path] = (),
) -> HostModel:
    """Compile ``model_dir``/model.c with the runtime for this machine (cached by content).

    ``extra_sources``: more C files of the model (e.g. the keyword firmware's net and front end,
    :mod:`.audio_model`), compiled with ``model_dir`` and each file's folder on the include path.

    The runtime objects are cached per compiler/flags/sources, the executable per model too.
    Unless ``sanitize``, the arena is guarded and painted (see the module docstring).

    Raises:
        ToolchainError: no compiler, or compilation failed (stderr included).
    """
    model_dir = Path(model_dir)
    header = (model_dir / "model.h").read_text()
    compiler = shutil.which(cc)
    if compiler is None:
        raise ToolchainError(f"C compiler {cc!r} not found", hint="install gcc (apt-get install gcc)")
    flags = list(DEFAULT_CFLAGS) + (list(SANITIZE_FLAGS) if sanitize else []) + list(extra_cflags)
    root = Path(build_root) if build_root is not None else REPO_ROOT / "build" / "host"
    objects = runtime_objects(compiler, flags, root, runtime_sources())
    h = hashlib.sha256(" ".join([compiler, *flags]).encode())
    h.update(DRIVER_C.encode())
    extras = [Path(f) for f in extra_sources]
    folders = {f.parent for f in extras} | ({model_dir} if extras else set())
    headers = sorted({header for folder in folders for header in folder.rglob("*.h")})
    hash_files(h, [model_dir / "model.h", model_dir / "model.c", *objects, *extras, *headers])
    # AddressSanitizer pads globals with its own poisoned redzones, which the guards would sit in;
    # it catches the overruns itself, so a sanitizer build goes without guards and paint.
    guarded = not sanitize
    if guarded:
        h.update(ARENA_GUARD_LD.encode())
        hash_files(h, list(ARENA_SOURCES))
    out_dir = root / h.hexdigest()[:20]
    exe = out_dir / "model_host"
    result = HostModel(exe=exe, input_bytes=int(model_define(header, "EN_MODEL_INPUT_BYTES")),
                       output_bytes=int(model_define(header, "EN_MODEL_OUTPUT_BYTES")),
                       arena_bytes=int(model_define(header, "EN_ARENA_BYTES")), guarded=guarded)
    if exe.is_file():
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "model.h", out_dir / "model.h")
    shutil.copyfile(model_dir / "model.c", out_dir / "model.c")
    (out_dir / "driver.c").write_text(DRIVER_C)
    guard = [f"-DEN_ARENA_GUARDS={int(guarded)}"]
    if guarded:
        (out_dir / "arena_guard.ld").write_text(ARENA_GUARD_LD)
        # -fdata-sections puts en_arena in .bss.en_arena, the section the script places.
        guard += ["-fdata-sections", "-I", str(ARENA_SOURCES[0].parent), f"-Wl,-T,{out_dir / 'arena_guard.ld'}",
                  str(ARENA_SOURCES[0])]
    tmp = out_dir / f"model_host.tmp{os.getpid()}"
    includes = [a for d in sorted({str(model_dir), *(str(f.parent) for f in extras)}) for a in ("-I", d)] if extras else []
    compile_c([compiler, *flags, "-I", str(out_dir), *includes, "-I", str(RUNTIME_C_DIR / "include"), "-o", str(tmp),
              str(out_dir / "model.c"), str(out_dir / "driver.c"), *map(str, extras), *guard,
              *[str(o) for o in objects]])
    os.replace(tmp, exe)
    return result
