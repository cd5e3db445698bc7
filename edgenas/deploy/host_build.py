"""Build a compiled model for the host with gcc and run it on batches of inputs.

The host build is the fast correctness path: the same generated ``model.c`` and the same
portable ``runtime_c`` reference kernels that go into firmware, linked with no-op profiling
hooks and a tiny driver that streams inputs from stdin to outputs on stdout. Executables are
cached under ``build/host/<hash>/`` keyed by the compiler, flags and every source's bytes, so
rebuilding an unchanged model is free.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DeviceError, ToolchainError
from ..paths import REPO_ROOT, RUNTIME_C_DIR, require_dir

DEFAULT_CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g")

DRIVER_C = r"""/* edgenas host driver: stdin holds N inputs of EN_MODEL_INPUT_BYTES each; stdout gets N
 * outputs of EN_MODEL_OUTPUT_BYTES. Exit 0 ok, 2 on a short input, 3 if the model fails. */
#include <stdint.h>
#include <stdio.h>

#include "model.h"

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
    for (;;) {
        size_t got = fread(in, 1, sizeof in, stdin);
        if (got == 0 && feof(stdin)) {
            return 0;
        }
        if (got != sizeof in) {
            fprintf(stderr, "en_host: short input (%lu of %d bytes)\n", (unsigned long)got,
                    EN_MODEL_INPUT_BYTES);
            return 2;
        }
        int st = en_model_invoke(in, out);
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


@dataclass(frozen=True)
class HostModel:
    """A built host executable and its I/O sizes (from model.h)."""

    exe: Path
    input_bytes: int
    output_bytes: int

    def run(self, inputs: np.ndarray, timeout_s: float = 120.0, chunk: int = 1000) -> np.ndarray:
        """Run every row of ``inputs`` (int8, ``(B, input_bytes)`` or anything reshaping to it).

        Rows go to the executable ``chunk`` at a time and ``timeout_s`` bounds each chunk, so a
        big model over a whole test split is not cut off by a limit meant for a hung process.

        Returns:
            int8 outputs, shape ``(B, output_bytes)``.

        Raises:
            DeviceError: the executable failed or returned the wrong number of bytes.
        """
        batch = np.ascontiguousarray(np.asarray(inputs, dtype=np.int8).reshape(-1, self.input_bytes))
        outs = [self._run_rows(batch[i : i + chunk], timeout_s) for i in range(0, len(batch), chunk)]
        return np.concatenate(outs) if outs else np.empty((0, self.output_bytes), dtype=np.int8)

    def _run_rows(self, batch: np.ndarray, timeout_s: float) -> np.ndarray:
        try:
            proc = subprocess.run([str(self.exe)], input=batch.tobytes(), capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as e:
            raise DeviceError(f"{self.exe} did not finish {len(batch)} inputs in {timeout_s} s",
                              hint="the executable hangs, or the machine is heavily loaded") from e
        if proc.returncode != 0:
            raise DeviceError(
                f"{self.exe} exited with {proc.returncode}: {proc.stderr.decode(errors='replace').strip()[-2000:]}",
                hint="a kernel rejected its arguments or the build is broken; rebuild with sanitize=True to locate it",
            )
        expected = batch.shape[0] * self.output_bytes
        if len(proc.stdout) != expected:
            raise DeviceError(f"{self.exe} wrote {len(proc.stdout)} bytes, expected {expected}",
                              hint="rebuild: model.h and the executable disagree")
        return np.frombuffer(proc.stdout, dtype=np.int8).reshape(batch.shape[0], self.output_bytes).copy()


def _define(header: str, name: str) -> int:
    m = re.search(rf"#define {name} (\d+)", header)
    if not m:
        raise ToolchainError(f"model.h lacks {name}", hint="regenerate the model with compile_graph()")
    return int(m.group(1))


def runtime_sources() -> list[Path]:
    """The portable runtime: reference kernels, shared checks and the no-op profiler."""
    src = require_dir(RUNTIME_C_DIR / "src")
    files = sorted((src / "ref").glob("*.c")) + sorted((src / "common").glob("*.c")) + [src / "profile_none.c"]
    return [f for f in files if f.is_file()]


def _hash_files(h: "hashlib._Hash", files: list[Path]) -> None:
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())


def _compile(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd)
    if proc.returncode != 0:
        raise ToolchainError(f"host build failed:\n{proc.stderr[-4000:]}",
                             hint="check that the generated model.c and runtime_c compile with: " + " ".join(cmd[1:6]))


def _runtime_objects(compiler: str, flags: list[str], root: Path) -> list[Path]:
    """Compile the runtime once per (compiler, flags, sources) and reuse the objects."""
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


def build_host(
    model_dir: str | Path,
    *,
    build_root: str | Path | None = None,
    cc: str = "gcc",
    sanitize: bool = False,
    extra_cflags: tuple[str, ...] = (),
) -> HostModel:
    """Compile ``model_dir``/model.c with the runtime for this machine (cached by content).

    The runtime objects are cached per compiler/flags/sources, the executable per model too.

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
    objects = _runtime_objects(compiler, flags, root)
    h = hashlib.sha256(" ".join([compiler, *flags]).encode())
    h.update(DRIVER_C.encode())
    _hash_files(h, [model_dir / "model.h", model_dir / "model.c", *objects])
    out_dir = root / h.hexdigest()[:20]
    exe = out_dir / "model_host"
    result = HostModel(exe=exe, input_bytes=_define(header, "EN_MODEL_INPUT_BYTES"),
                       output_bytes=_define(header, "EN_MODEL_OUTPUT_BYTES"))
    if exe.is_file():
        return result
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / "model.h", out_dir / "model.h")
    shutil.copyfile(model_dir / "model.c", out_dir / "model.c")
    (out_dir / "driver.c").write_text(DRIVER_C)
    tmp = out_dir / f"model_host.tmp{os.getpid()}"
    _compile([compiler, *flags, "-I", str(out_dir), "-I", str(RUNTIME_C_DIR / "include"), "-o", str(tmp),
              str(out_dir / "model.c"), str(out_dir / "driver.c"), *[str(o) for o in objects]])
    os.replace(tmp, exe)
    return result
