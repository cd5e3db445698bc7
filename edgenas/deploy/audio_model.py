"""A keyword model that listens: firmware sources whose ``en_model_invoke`` takes one second of raw
int16 audio, runs the C front end (``runtime_c/frontend``), resizes the log-mel image to the
network's square input in integers (:mod:`edgenas.audio.glue`) and runs the compiled int8 net.

Written beside a compiled artifact as ``OUT/audio_src/``::

    model.h       the harness's interface: EN_MODEL_INPUT_BYTES = 32,000 (16,000 int16 samples),
                  EN_MODEL_NUM_LAYERS = 2 + the net's layers (profile slot 0: front end, 1: resize
                  and quantization, 2..: the net's layers)
    model.c       the wrapper; the front end's scratch and log-mel image live in the net's arena
                  (dead before the net runs; own .bss arrays if the arena is too small), the net's
                  int8 input is its own .bss array: the linked ELF's RAM counts them all with the
                  harness's 32,000-byte audio buffer
    net_model.c/h the artifact's generated model.c/h, renamed (en_net_invoke, EN_NET_*), its
                  profile marks shifted by two
    edgenas/      the front end's public headers
    frontend/     the front end's sources (a copy of runtime_c/frontend/src)

The harness and the runtime kernels are the usual ones: nothing under ``runtime_c/src`` or
``targets/cortex_m`` changes, so the latency table and the overhead calibration stay valid.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import MEL_BINS, SAMPLE_RATE_HZ, frame_count
from ..audio.glue import INPUT_ZERO_POINT
from ..boards import Board
from ..errors import DataError, ModelFormatError, ToolchainError
from ..paths import RUNTIME_C_DIR

if TYPE_CHECKING:
    from ..targets.cortex_m import Firmware
    from .host_build import HostModel

FRONTEND_DIR = RUNTIME_C_DIR / "frontend"
AUDIO_SRC = "audio_src"
CLIP_SAMPLES = SAMPLE_RATE_HZ
"""One second of audio per inference."""
FRAMES = frame_count(CLIP_SAMPLES)
FRONTEND_SCRATCH_BYTES = 4 * (512 + 2)
"""The front end's int32 scratch (EN_FE_SCRATCH_WORDS: the FFT's 257 complex bins)."""
AUDIO_INPUT_BYTES = 2 * CLIP_SAMPLES
FEATURE_BYTES = FRAMES * MEL_BINS
PROFILE_SLOTS = 2
"""Profile slots before the net's: 0 the front end, 1 the resize and quantization."""


SHARED_BYTES = FRONTEND_SCRATCH_BYTES + FEATURE_BYTES
"""The front end's scratch and log-mel image, placed at the start of the net's arena when it is this
large: both are dead before the net copies its input in (the resize writes the wrapper's own
net-input buffer), so they cost no RAM of their own."""


def _a16(n: int) -> int:
    return (n + 15) // 16 * 16


def shares_arena(arena_bytes: int) -> bool:
    """Whether the front end's buffers fit in (and so live in) a net arena of ``arena_bytes``."""
    return arena_bytes >= SHARED_BYTES


def audio_ram_extra_bytes(arena_bytes: int | None = None) -> int:
    """RAM the audio firmware adds to what the cost model counts for the net alone (which counts
    the net's int8 input once, as the harness's input buffer; here that buffer holds the audio and
    the net's input is the wrapper's): the audio buffer, plus, for a net whose arena of
    ``arena_bytes`` cannot hold them (None: unknown, assume it can), the front end's scratch and
    log-mel image; each rounded up to 16 bytes as the linker may align them."""
    own = 0 if arena_bytes is None or shares_arena(arena_bytes) else _a16(FRONTEND_SCRATCH_BYTES) + _a16(FEATURE_BYTES)
    return _a16(AUDIO_INPUT_BYTES) + own


def _define(header: str, name: str) -> str:
    m = re.search(rf"^#define {name} (.+)$", header, re.M)
    if m is None:
        raise ModelFormatError(f"the generated model.h has no {name}", hint="compile the model again")
    return m.group(1).strip()


def _net_header(header: str) -> str:
    """The net's model.h renamed so it can sit beside the audio model.h."""
    return (header.replace("EN_MODEL_H", "EN_NET_MODEL_H").replace("EN_MODEL_", "EN_NET_")
            .replace("en_model_invoke", "en_net_invoke"))


def _net_source(source: str) -> str:
    """The net's model.c: its own header, renamed entry point, profile marks after the wrapper's
    two, and no ``en_profile_begin`` (the wrapper's begin starts the count at the audio)."""
    for needle in ('#include "model.h"', "en_model_invoke(", "    en_profile_begin();\n"):
        if source.count(needle) != 1:
            raise ModelFormatError(f"the generated model.c has {source.count(needle)} of {needle.strip()!r}, "
                                   "expected one", hint="compile the model again with this edgenas")
    source = (source.replace('#include "model.h"', '#include "net_model.h"')
              .replace("en_model_invoke(", "en_net_invoke(").replace("    en_profile_begin();\n", ""))
    source = re.sub(r"en_profile_mark\((\d+)\);", lambda m: f"en_profile_mark({int(m.group(1)) + PROFILE_SLOTS});",
                    source)
    return source.replace("EN_MODEL_", "EN_NET_")


def _audio_header(net_header: str) -> str:
    """The harness's model.h: the net's, but for an int16 audio input (its bytes, scale 1 and zero
    point 0, since the input is no quantized tensor), two more profile slots and the entry point's
    comment; every other figure (arena, flash, output quantization) stays the net's."""
    name = _define(net_header, "EN_MODEL_NAME")
    layers = int(_define(net_header, "EN_MODEL_NUM_LAYERS"))
    values = {"EN_MODEL_NAME": f'"kws_" {name}', "EN_MODEL_INPUT_BYTES": str(AUDIO_INPUT_BYTES),
              "EN_MODEL_NUM_LAYERS": str(layers + PROFILE_SLOTS), "EN_MODEL_INPUT_SCALE": "1.0f",
              "EN_MODEL_INPUT_ZERO_POINT": "0"}
    header = net_header
    for macro, value in values.items():
        _define(header, macro)  # present
        header = re.sub(rf"^#define {macro} .+$", lambda _m, macro=macro, value=value: f"#define {macro} {value}",
                        header, count=1, flags=re.M)
    extra = f"#define EN_KWS_SAMPLES {CLIP_SAMPLES}\n#define EN_KWS_FRAMES {FRAMES}\n"
    header = header.replace("\n#endif /* EN_MODEL_H */", f"\n{extra}\n#endif /* EN_MODEL_H */", 1)
    header = re.sub(r"/\*\* Run the model:.*?\*/",
                    f"/** Keyword firmware: `in` holds {CLIP_SAMPLES} little-endian int16 samples at {SAMPLE_RATE_HZ} Hz, run "
                    "through the front end,\n *  the integer resize and the net; `out` receives the net's int8 logits. "
                    "Returns 0 (EN_OK) or a negative en_status. */", header, count=1, flags=re.S)
    return "/* Keyword firmware (edgenas.deploy.audio_model): the net's header, for raw audio in. */\n" + header


def _buffers(arena_bytes: int) -> str:
    """The front end's scratch and log-mel image: the arena's first bytes when it holds them."""
    if shares_arena(arena_bytes):
        return f"""/* The front end's scratch and log-mel image use the first {SHARED_BYTES} bytes of the net's
 * arena (8-byte aligned): both are dead before en_net_invoke copies the net's input in. */
#define en_kws_scratch ((int32_t *)(void *)en_arena)
#define en_kws_features (en_arena + 4 * EN_FE_SCRATCH_WORDS)
typedef char en_kws_fits_arena[(4 * EN_FE_SCRATCH_WORDS + EN_KWS_FRAMES * EN_FE_MEL_BINS <= EN_ARENA_BYTES) ? 1 : -1];
"""
    return """/* The net's arena is too small to lend the front end its buffers. */
static int32_t en_kws_scratch[EN_FE_SCRATCH_WORDS];
static uint8_t en_kws_features[EN_KWS_FRAMES * EN_FE_MEL_BINS];
"""


def _audio_source(net_header: str) -> str:
    shape = re.search(r"^#define EN_MODEL_INPUT_BYTES (\d+)$", net_header, re.M)
    assert shape is not None
    side = int(round(int(shape.group(1)) ** 0.5))
    if side * side != int(shape.group(1)):
        raise ModelFormatError(f"the net's input ({shape.group(1)} bytes) is not a square one-channel image",
                               hint="keyword firmware feeds the log-mel image to a square single-channel net")
    zero_point = int(_define(net_header, "EN_MODEL_INPUT_ZERO_POINT"))
    if zero_point != INPUT_ZERO_POINT:
        raise ModelFormatError(f"the net's input zero point is {zero_point}, the keyword glue feeds "
                               f"{INPUT_ZERO_POINT} (scale 1/255)", hint="compile the subnet with edgenas")
    return f"""/* Generated by edgenas (keyword firmware). Do not edit. */
#include <stdint.h>

#include "edgenas/frontend.h"
#include "edgenas/profile.h"
#include "model.h"

#define EN_KWS_NET_SIDE {side}
#define EN_KWS_NET_ZERO_POINT ({zero_point})

int en_net_invoke(const int8_t *in, int8_t *out);

{_buffers(int(_define(net_header, "EN_ARENA_BYTES")))}static int8_t en_kws_net_input[EN_KWS_NET_SIDE * EN_KWS_NET_SIDE] __attribute__((aligned(4)));

int en_model_invoke(const int8_t *in, int8_t *out) {{
    en_profile_begin();
    en_status s = en_frontend_u8((const int16_t *)(const void *)in, EN_KWS_SAMPLES, en_kws_features, EN_KWS_FRAMES,
                                 en_kws_scratch);
    en_profile_mark(0u);
    if (s != EN_OK) {{
        return (int)s;
    }}
    s = en_fe_resize_u8_to_s8(en_kws_features, EN_KWS_FRAMES, EN_FE_MEL_BINS, en_kws_net_input, EN_KWS_NET_SIDE,
                              EN_KWS_NET_SIDE, EN_KWS_NET_ZERO_POINT);
    en_profile_mark(1u);
    if (s != EN_OK) {{
        return (int)s;
    }}
    return en_net_invoke(en_kws_net_input, out);
}}
"""


def write_audio_sources(src_dir: Path, out_dir: Path) -> list[Path]:
    """Write the keyword firmware's model sources for the compiled net in ``src_dir`` (an
    artifact's ``src/``) into ``out_dir`` (replaced); return every file the firmware build takes.

    Raises:
        ModelFormatError: the generated sources are not the shape this wrapper expects.
    """
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    header = (src_dir / "model.h").read_text()
    source = (src_dir / "model.c").read_text()
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "edgenas").mkdir(parents=True)
    for name in ("frontend.h", "frontend_config.h"):
        shutil.copyfile(FRONTEND_DIR / "include" / "edgenas" / name, out_dir / "edgenas" / name)
    (out_dir / "net_model.h").write_text(_net_header(header))
    (out_dir / "net_model.c").write_text(_net_source(source))
    (out_dir / "model.h").write_text(_audio_header(header))
    (out_dir / "model.c").write_text(_audio_source(header))
    # The front end's sources travel with the model, as the runtime snapshot does with the net.
    (out_dir / "frontend").mkdir()
    for path in sorted((FRONTEND_DIR / "src").glob("*.[ch]")):
        shutil.copyfile(path, out_dir / "frontend" / path.name)
    return [out_dir / "model.c", out_dir / "net_model.c", out_dir / "model.h", out_dir / "net_model.h",
            *sorted((out_dir / "frontend").glob("*.[ch]"))]


@dataclass(frozen=True)
class AudioRun:
    """The keyword firmware run on clips: the net's int8 outputs per clip, the linked image's memory
    and the counts per clip split into front end, resize and net (in ``unit``)."""

    outputs: np.ndarray
    memory: dict
    unit: str
    frontend_counts: tuple[int, ...]
    resize_counts: tuple[int, ...]
    net_counts: tuple[int, ...]
    total_counts: tuple[int, ...]
    layer_counts: tuple[int, ...]
    stack_bytes: int
    firmware: Firmware


def run_audio_firmware(root: Path, board: Board, clips: np.ndarray, *, opt: str = "-O2",
                       port: str | None = None) -> AudioRun:
    """Write ``ROOT/audio_src/`` for the artifact at ``root``, build it into
    ``ROOT/firmware/<board>-audio/`` and run int16 ``(N, 16000)`` ``clips`` on the board.

    Raises:
        DataError: clips of another shape or type.
        ToolchainError, MemoryOverflowError: the build fails or does not fit the board.
    """
    from ..targets.cortex_m import driver
    from ..targets.cortex_m.elf import elf_memory
    from .pipeline import load_artifact

    x = np.asarray(clips)
    if x.dtype != np.int16 or x.ndim != 2 or x.shape[1] != CLIP_SAMPLES:
        raise DataError(f"clips must be int16 (N, {CLIP_SAMPLES}), got {x.dtype} {x.shape}",
                        hint="one second of 16 kHz audio per clip")
    artifact = load_artifact(root)
    files = write_audio_sources(artifact.src_dir, artifact.root / AUDIO_SRC)
    fw = driver.build(files, board, artifact.root / "firmware" / f"{board.name}-audio", opt=opt,
                      runtime_dir=artifact.runtime_dir)
    elf = elf_memory(fw.elf)
    if elf["arena_bytes"] != artifact.arena_bytes:
        raise ToolchainError(f"linked en_arena is {elf['arena_bytes']} bytes but the planner predicted "
                             f"{artifact.arena_bytes}", hint="compile the model again")
    if not board.emulated:
        driver.flash(fw)
    runs = driver.run(fw, [c.astype("<i2").tobytes() for c in x], port=port)
    outputs = np.stack([np.frombuffer(m.output, np.int8) for m in runs])
    net_layers = [m.per_layer[PROFILE_SLOTS:] for m in runs]
    memory = {
        "opt": opt, "flash_bytes": elf["flash_bytes"], "weights_bytes": elf["weights_bytes"],
        "code_bytes": elf["flash_bytes"] - elf["weights_bytes"], "text_bytes": elf["code_bytes"],
        "rodata_bytes": elf["rodata_bytes"], "ram_bytes": elf["ram_bytes"], "data_bytes": elf["data_bytes"],
        "bss_bytes": elf["bss_bytes"], "stack_reserve_bytes": elf["stack_reserve_bytes"],
        "arena_bytes": elf["arena_bytes"], "arena_equals_plan": True,
        "board_flash_bytes": board.flash.size_bytes, "board_ram_bytes": board.ram.size_bytes,
        "stack_bytes": max(m.stack_bytes for m in runs),
        "arena_touched_bytes": max(m.arena_touched_bytes or 0 for m in runs),
        "count_unit": runs[0].unit,
        "audio_input_bytes": AUDIO_INPUT_BYTES, "frontend_scratch_bytes": FRONTEND_SCRATCH_BYTES,
        "feature_bytes": FEATURE_BYTES, "net_input_bytes": int(np.prod(artifact.input_shape)),
        "frontend_in_arena": shares_arena(artifact.arena_bytes),
    }
    return AudioRun(
        outputs=outputs.reshape(len(runs), *artifact.output_shape[1:]), memory=memory, unit=runs[0].unit,
        frontend_counts=tuple(int(m.per_layer[0]) for m in runs),
        resize_counts=tuple(int(m.per_layer[1]) for m in runs),
        net_counts=tuple(int(sum(c)) for c in net_layers),
        total_counts=tuple(int(m.total_count) for m in runs),
        layer_counts=tuple(int(np.median(c)) for c in zip(*net_layers)),
        stack_bytes=max(m.stack_bytes for m in runs), firmware=fw)


def build_audio_host(audio_dir: Path) -> HostModel:
    """The keyword firmware's model sources in ``audio_dir`` (from :func:`write_audio_sources`)
    built for this machine: its ``run`` takes int16 clips viewed as int8 rows of 32,000 bytes, so
    the board's outputs can be compared with the same C compiled for the host."""
    from .host_build import build_host

    audio_dir = Path(audio_dir)
    return build_host(audio_dir, extra_sources=[audio_dir / "net_model.c", *sorted((audio_dir / "frontend").glob("*.c"))])
