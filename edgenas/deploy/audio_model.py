"""A keyword model that listens: firmware sources whose ``en_model_invoke`` takes one hop of raw
int16 audio at a time, as a microphone streams it, runs the C front end (``runtime_c/frontend``)
on the frame that hop completes, and every ``EN_KWS_STRIDE_HOPS`` hops resizes the last second's
log-mel image to the network's square input in integers (:mod:`edgenas.audio.glue`) and runs the
compiled int8 net.

Written beside a compiled artifact as ``OUT/audio_src/``::

    model.h       the harness's interface: EN_MODEL_INPUT_BYTES = one hop (HOP_SAMPLES int16),
                  EN_MODEL_NUM_LAYERS = 2 + the net's layers (profile slot 0: this hop's frame,
                  1: resize and quantization, 2..: the net's layers; slots a hop skips count 0),
                  EN_KWS_STRIDE_HOPS and EN_KWS_WINDOW_HOPS (when the net runs)
    model.c       the wrapper. Its own .bss keeps the stream (the previous hop and a ring of the
                  last second's log-mel rows) and the net's int8 input; the front end's scratch,
                  the frame it reads and the window put in time order are dead between calls and
                  before the net copies its input in, so they borrow the net's arena (own .bss if
                  the arena is too small). The linked ELF's RAM counts them all with the harness's
                  one-hop input buffer.
    net_model.c/h the artifact's generated model.c/h, renamed (en_net_invoke, EN_NET_*), its
                  profile marks shifted by two
    edgenas/      the front end's public headers
    frontend/     the front end's sources (a copy of runtime_c/frontend/src)

The stream: hop n (counted from power-on, 1-based) completes frame n - 2 (0-based; a frame is the
previous hop and this hop's first FRAME_SAMPLES - HOP_SAMPLES samples), so from hop WINDOW_HOPS on
the window holds FRAMES frames, exactly those ``log_mel_u8`` computes from the last
WINDOW_HOPS * HOP_SAMPLES samples (one second). The net runs after hop n when n >= WINDOW_HOPS and n is a multiple of the stride, and
gives the logits of that second as the one-shot path would (``log_mel_u8`` + glue + net); on
every other hop ``out`` is left as it was: it holds the last logits, and before the first full
window whatever the caller put there (the harness's and the host driver's buffers start zeroed).

The harness and the runtime kernels are the usual ones: nothing under ``runtime_c/src`` or
``targets/cortex_m`` changes, so the latency table and the overhead calibration stay valid.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import FRAME_SAMPLES, HOP_SAMPLES, MEL_BINS, SAMPLE_RATE_HZ, frame_count
from ..audio.config import FFT_SIZE
from ..audio.glue import INPUT_ZERO_POINT
from ..boards import Board
from ..errors import DataError, DeviceError, ModelFormatError, ToolchainError, UsageError
from ..paths import RUNTIME_C_DIR

if TYPE_CHECKING:
    from ..targets.cortex_m import Firmware
    from ..targets.measurement import Measurement
    from .host_build import HostModel

FRONTEND_DIR = RUNTIME_C_DIR / "frontend"
AUDIO_SRC = "audio_src"
CLIP_SAMPLES = SAMPLE_RATE_HZ
"""One second of audio per window (and per clip)."""
WINDOW_HOPS = CLIP_SAMPLES // HOP_SAMPLES
"""Hops in a clip, and from power-on to the first full window."""
FRAMES = frame_count(CLIP_SAMPLES)
STRIDE_HOPS = WINDOW_HOPS // 2
"""Hops between net runs by default: every half second, so clips fed back to back still end on a
run (the stride divides WINDOW_HOPS) and a word up to half a second long lies wholly inside some
window, for twice the net's cost of a run per second."""
HOP_BYTES = 2 * HOP_SAMPLES
"""The harness's input buffer: one hop of int16 samples."""
HISTORY_BYTES = 2 * HOP_SAMPLES
"""The previous hop, where the next frame begins."""
WINDOW_BYTES = FRAMES * MEL_BINS
"""The ring of the last second's log-mel rows."""
STATE_BYTES = HISTORY_BYTES + WINDOW_BYTES + 3 * 2
"""The wrapper's stream state (``en_kws``): history, window and three uint16 counters."""
FRONTEND_SCRATCH_BYTES = 4 * (FFT_SIZE + 2)
"""The front end's int32 scratch (EN_FE_SCRATCH_WORDS: the FFT's 257 complex bins)."""
LENT_BYTES = max(FRONTEND_SCRATCH_BYTES + 2 * FRAME_SAMPLES, WINDOW_BYTES)
"""Bytes a call uses and drops: the front end's scratch and the frame it reads, then the window in
time order for the resize; placed at the start of the net's arena when it is this large."""
PROFILE_SLOTS = 2
"""Profile slots before the net's: 0 the front end, 1 the resize and quantization."""
PROFILE_SLOT_BYTES = 4 + 1 + 4
"""The harness's RAM per profile slot: a uint32 mark and a uint8 flag (targets/cortex_m/profile.c)
and a uint32 result word (targets/cortex_m/main.c)."""


def _a16(n: int) -> int:
    return (n + 15) // 16 * 16


def shares_arena(arena_bytes: int) -> bool:
    """Whether the per-call buffers fit in (and so live in) a net arena of ``arena_bytes``."""
    return arena_bytes >= LENT_BYTES


def audio_ram_extra_bytes(arena_bytes: int | None = None) -> int:
    """RAM the keyword firmware adds to what the cost model counts for the net alone (which counts
    the net's int8 input once, as the harness's input buffer; here that buffer holds one hop and
    the net's input is the wrapper's): the hop buffer, the stream state and the harness's words for
    the two extra profile slots, plus, for a net whose arena of ``arena_bytes`` cannot lend them
    (None: unknown, assume it can), the per-call buffers; buffers rounded up to 16 bytes as the
    linker may align them."""
    own = 0 if arena_bytes is None or shares_arena(arena_bytes) else _a16(LENT_BYTES)
    return _a16(HOP_BYTES) + _a16(STATE_BYTES) + PROFILE_SLOTS * PROFILE_SLOT_BYTES + own


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


def _audio_header(net_header: str, stride_hops: int) -> str:
    """The harness's model.h: the net's, but for one hop of int16 audio in (its bytes, scale 1 and
    zero point 0, since the input is no quantized tensor), two more profile slots, the stream's
    constants and the entry point's comment; every other figure (arena, flash, output
    quantization) stays the net's."""
    name = _define(net_header, "EN_MODEL_NAME")
    layers = int(_define(net_header, "EN_MODEL_NUM_LAYERS"))
    values = {"EN_MODEL_NAME": f'"kws_" {name}', "EN_MODEL_INPUT_BYTES": str(HOP_BYTES),
              "EN_MODEL_NUM_LAYERS": str(layers + PROFILE_SLOTS), "EN_MODEL_INPUT_SCALE": "1.0f",
              "EN_MODEL_INPUT_ZERO_POINT": "0"}
    header = net_header
    for macro, value in values.items():
        _define(header, macro)  # present
        header = re.sub(rf"^#define {macro} .+$", lambda _m, macro=macro, value=value: f"#define {macro} {value}",
                        header, count=1, flags=re.M)
    extra = ("/* The net runs after hop n (from power-on, 1-based) when n >= EN_KWS_WINDOW_HOPS and n is a\n"
             " * multiple of EN_KWS_STRIDE_HOPS, on the last EN_KWS_WINDOW_HOPS hops' EN_KWS_FRAMES frames. */\n"
             f"#define EN_KWS_WINDOW_HOPS {WINDOW_HOPS}\n#define EN_KWS_STRIDE_HOPS {stride_hops}\n"
             f"#define EN_KWS_FRAMES {FRAMES}\n")
    header = header.replace("\n#endif /* EN_MODEL_H */", f"\n{extra}\n#endif /* EN_MODEL_H */", 1)
    header = re.sub(r"/\*\* Run the model:.*?\*/",
                    f"/** Keyword firmware, one hop per call: `in` holds the next {HOP_SAMPLES} little-endian int16 "
                    f"samples at {SAMPLE_RATE_HZ} Hz.\n *  The front end adds the frame they complete to the window; "
                    "on the hops named below the integer resize\n *  and the net write the net's int8 logits to `out`, on "
                    "the others `out` is left as it was (the last logits;\n *  before the first run, what the caller "
                    "put there). Returns 0 (EN_OK) or a negative en_status. */", header, count=1, flags=re.S)
    return "/* Keyword firmware (edgenas.deploy.audio_model): the net's header, for streamed audio in. */\n" + header


def _buffers(arena_bytes: int) -> str:
    """The per-call buffers: the arena's first bytes when it holds them."""
    if shares_arena(arena_bytes):
        return """/* A call's scratch, frame and time-ordered window use the first EN_KWS_LENT_BYTES of the net's arena
 * (8-byte aligned): nothing in them outlives the call (the harness repaints the arena before each),
 * and the resize has read the last before en_net_invoke copies the net's input in. */
#define en_kws_lent en_arena
typedef char en_kws_fits_arena[(EN_KWS_LENT_BYTES <= EN_ARENA_BYTES) ? 1 : -1];
"""
    return """/* The net's arena is too small to lend a call its buffers. */
static uint8_t en_kws_lent[EN_KWS_LENT_BYTES] __attribute__((aligned(8)));
"""


def _net_side(net_header: str) -> int:
    """The side of the net's square one-channel int8 input, whose zero point the glue feeds."""
    inputs = int(_define(net_header, "EN_MODEL_INPUT_BYTES"))
    side = int(round(inputs ** 0.5))
    if side * side != inputs:
        raise ModelFormatError(f"the net's input ({inputs} bytes) is not a square one-channel image",
                               hint="keyword firmware feeds the log-mel image to a square single-channel net")
    zero_point = int(_define(net_header, "EN_MODEL_INPUT_ZERO_POINT"))
    if zero_point != INPUT_ZERO_POINT:
        raise ModelFormatError(f"the net's input zero point is {zero_point}, the keyword glue feeds "
                               f"{INPUT_ZERO_POINT} (scale 1/255)", hint="compile the subnet with edgenas")
    return side


def _audio_source(net_header: str) -> str:
    side = _net_side(net_header)
    return f"""/* Generated by edgenas (keyword firmware). Do not edit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edgenas/frontend.h"
#include "edgenas/profile.h"
#include "model.h"

#define EN_KWS_NET_SIDE {side}
#define EN_KWS_NET_ZERO_POINT ({INPUT_ZERO_POINT})
/* A frame is the previous hop and this hop's first EN_KWS_TAIL_SAMPLES samples. */
#define EN_KWS_TAIL_SAMPLES (EN_FE_FRAME_SAMPLES - EN_FE_HOP_SAMPLES)
#define EN_KWS_WINDOW_BYTES (EN_KWS_FRAMES * EN_FE_MEL_BINS)
#define EN_KWS_FE_BYTES (4 * EN_FE_SCRATCH_WORDS + 2 * EN_FE_FRAME_SAMPLES)
#define EN_KWS_LENT_BYTES (EN_KWS_FE_BYTES > EN_KWS_WINDOW_BYTES ? EN_KWS_FE_BYTES : EN_KWS_WINDOW_BYTES)

/* Exactly one frame ends in each hop, a window's hops give EN_KWS_FRAMES frames, and clips of
 * EN_KWS_WINDOW_HOPS hops fed back to back each end on a net run. */
typedef char en_kws_one_frame_per_hop[(EN_KWS_TAIL_SAMPLES > 0 && EN_KWS_TAIL_SAMPLES <= EN_FE_HOP_SAMPLES) ? 1 : -1];
typedef char en_kws_window_frames[(EN_FE_FRAMES(EN_KWS_WINDOW_HOPS * EN_FE_HOP_SAMPLES) == EN_KWS_FRAMES) ? 1 : -1];
typedef char en_kws_stride_divides_window[(EN_KWS_WINDOW_HOPS % EN_KWS_STRIDE_HOPS == 0) ? 1 : -1];

int en_net_invoke(const int8_t *in, int8_t *out);

/* The stream, in the wrapper's own .bss: it must outlive the call, and the arena does not (the
 * harness repaints it before every call, the net overwrites it). The window is a ring, not a
 * shifted array: a shift would move EN_KWS_FRAMES - 1 rows on every hop, the ring writes its row
 * in place and is copied into time order once per net run (every EN_KWS_STRIDE_HOPS hops) into
 * the lent bytes, which the front end has finished with, so it costs no RAM either. */
static struct {{
    int16_t history[EN_FE_HOP_SAMPLES]; /* the previous hop, where the next frame begins */
    uint8_t window[EN_KWS_WINDOW_BYTES]; /* the last EN_KWS_FRAMES log-mel rows, a ring */
    uint16_t hops;                       /* hops received, counted up to EN_KWS_WINDOW_HOPS (window full) */
    uint16_t row;                        /* the ring's next row: its oldest once full */
    uint16_t phase;                      /* hops received mod EN_KWS_STRIDE_HOPS */
}} en_kws;

{_buffers(int(_define(net_header, "EN_ARENA_BYTES")))}#define en_kws_scratch ((int32_t *)(void *)en_kws_lent)
#define en_kws_frame ((int16_t *)(void *)(en_kws_lent + 4 * EN_FE_SCRATCH_WORDS))
#define en_kws_image ((uint8_t *)en_kws_lent)

static int8_t en_kws_net_input[EN_KWS_NET_SIDE * EN_KWS_NET_SIDE] __attribute__((aligned(4)));

/* The frame that ends in this hop, as the ring's next row. */
static void en_kws_push_frame(const int8_t *hop) {{
    memcpy(en_kws_frame, en_kws.history, sizeof en_kws.history);
    memcpy(en_kws_frame + EN_FE_HOP_SAMPLES, hop, 2 * EN_KWS_TAIL_SAMPLES);
    (void)en_frontend_frame_u8(en_kws_frame, &en_kws.window[en_kws.row * EN_FE_MEL_BINS], en_kws_scratch);
    en_kws.row = en_kws.row + 1u == EN_KWS_FRAMES ? 0u : en_kws.row + 1u;
}}

/* Count a hop; whether it ends a window the net reads (full, and a stride after the last). */
static int en_kws_count_hop(void) {{
    if (en_kws.hops < EN_KWS_WINDOW_HOPS) {{
        ++en_kws.hops;
    }}
    en_kws.phase = en_kws.phase + 1u == EN_KWS_STRIDE_HOPS ? 0u : en_kws.phase + 1u;
    return en_kws.hops == EN_KWS_WINDOW_HOPS && en_kws.phase == 0u;
}}

/* The window in time order (oldest row first) into the lent bytes, which the frame is done with. */
static void en_kws_unroll(void) {{
    const size_t split = (size_t)en_kws.row * EN_FE_MEL_BINS;
    memcpy(en_kws_image, &en_kws.window[split], sizeof en_kws.window - split);
    memcpy(en_kws_image + (sizeof en_kws.window - split), en_kws.window, split);
}}

int en_model_invoke(const int8_t *in, int8_t *out) {{
    if (in == NULL || out == NULL) {{
        return (int)EN_ERR_ARG; /* before the stream moves */
    }}
    en_profile_begin();
    if (en_kws.hops > 0u) {{ /* power-on's first hop only starts a frame */
        en_kws_push_frame(in);
    }}
    memcpy(en_kws.history, in, sizeof en_kws.history);
    const int run = en_kws_count_hop();
    en_profile_mark(0u);
    if (!run) {{
        return (int)EN_OK; /* out keeps the last logits */
    }}
    en_kws_unroll();
    const en_status s = en_fe_resize_u8_to_s8(en_kws_image, EN_KWS_FRAMES, EN_FE_MEL_BINS, en_kws_net_input,
                                              EN_KWS_NET_SIDE, EN_KWS_NET_SIDE, EN_KWS_NET_ZERO_POINT);
    en_profile_mark(1u);
    if (s != EN_OK) {{
        return (int)s;
    }}
    return en_net_invoke(en_kws_net_input, out);
}}
"""


def write_audio_sources(src_dir: Path, out_dir: Path, *, stride_hops: int = STRIDE_HOPS) -> list[Path]:
    """Write the keyword firmware's model sources for the compiled net in ``src_dir`` (an
    artifact's ``src/``) into ``out_dir`` (replaced), running the net every ``stride_hops`` hops;
    return every file the firmware build takes.

    Raises:
        ModelFormatError: the generated sources are not the shape this wrapper expects.
        UsageError: a stride that does not divide WINDOW_HOPS (clips fed back to back would not
            end on a net run).
    """
    if stride_hops < 1 or WINDOW_HOPS % stride_hops:
        raise UsageError(f"stride of {stride_hops} hops does not divide the {WINDOW_HOPS} hops of a window",
                         hint=f"use a divisor of {WINDOW_HOPS}, e.g. {STRIDE_HOPS} (half a second)")
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    header = (src_dir / "model.h").read_text()
    source = (src_dir / "model.c").read_text()
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "edgenas").mkdir(parents=True)
    for name in ("frontend.h", "frontend_config.h"):
        shutil.copyfile(FRONTEND_DIR / "include" / "edgenas" / name, out_dir / "edgenas" / name)
    (out_dir / "net_model.h").write_text(_net_header(header))
    (out_dir / "net_model.c").write_text(_net_source(source))
    (out_dir / "model.h").write_text(_audio_header(header, stride_hops))
    (out_dir / "model.c").write_text(_audio_source(header))
    # The front end's sources travel with the model, as the runtime snapshot does with the net.
    (out_dir / "frontend").mkdir()
    for path in sorted((FRONTEND_DIR / "src").glob("*.[ch]")):
        shutil.copyfile(path, out_dir / "frontend" / path.name)
    return [out_dir / "model.c", out_dir / "net_model.c", out_dir / "model.h", out_dir / "net_model.h",
            *sorted((out_dir / "frontend").glob("*.[ch]"))]


def clip_hops(clips: np.ndarray) -> np.ndarray:
    """int16 ``(N, CLIP_SAMPLES)`` clips as the stream the firmware takes: int8 rows of one hop,
    ``(N * WINDOW_HOPS, HOP_BYTES)``, clip after clip.

    Raises:
        DataError: clips of another shape or type.
    """
    x = np.asarray(clips)
    if x.dtype != np.int16 or x.ndim != 2 or x.shape[1] != CLIP_SAMPLES:
        raise DataError(f"clips must be int16 (N, {CLIP_SAMPLES}), got {x.dtype} {x.shape}",
                        hint="one second of 16 kHz audio per clip")
    return np.ascontiguousarray(x.astype("<i2")).view(np.int8).reshape(-1, HOP_BYTES)


def clip_ends(per_hop: np.ndarray) -> np.ndarray:
    """Rows of a per-hop stream that end a clip (each clip's last hop): clip ``i``'s logits."""
    return np.asarray(per_hop)[WINDOW_HOPS - 1:: WINDOW_HOPS]


@dataclass(frozen=True)
class AudioRun:
    """The keyword firmware fed clips back to back: per clip, the net's int8 outputs after its last
    hop, the counts (in ``unit``) of the front end summed over its hops, of the resize and net at
    its end, of the harness summed over its hops, and ``duty_counts``: a second of listening at
    this clip's costs, the front end on one frame a hop plus WINDOW_HOPS / stride net runs."""

    outputs: np.ndarray
    memory: dict
    unit: str
    frontend_counts: tuple[int, ...]
    resize_counts: tuple[int, ...]
    net_counts: tuple[int, ...]
    total_counts: tuple[int, ...]
    duty_counts: tuple[int, ...]
    layer_counts: tuple[int, ...]
    stack_bytes: int
    firmware: Firmware


def _clip_counts(hops: list[Measurement]) -> tuple[int, int, int, int, int]:
    """Front end, resize, net, harness total and duty counts of one clip's hops (the last runs the net).

    Raises:
        DeviceError: the net did not run on the clip's last hop.
    """
    end = hops[-1]
    resize, net = int(end.per_layer[1]), int(sum(end.per_layer[PROFILE_SLOTS:]))
    if resize == 0 or net == 0:
        raise DeviceError("the keyword firmware did not run its net on a clip's last hop",
                          hint="the firmware's stream is out of step with the clips: rebuild it with this edgenas")
    frames = [int(m.per_layer[0]) for m in hops]
    frontend = sum(frames)
    per_second = int(np.median(frames)) * WINDOW_HOPS + WINDOW_HOPS // STRIDE_HOPS * (resize + net)
    return frontend, resize, net, sum(int(m.total_count) for m in hops), per_second


def run_audio_firmware(root: Path, board: Board, clips: np.ndarray, *, opt: str = "-O2",
                       port: str | None = None) -> AudioRun:
    """Write ``ROOT/audio_src/`` for the artifact at ``root``, build it into
    ``ROOT/firmware/<board>-audio/`` and stream int16 ``(N, 16000)`` ``clips`` through it on the
    board, clip after clip from power-on, one invoke per hop.

    Raises:
        DataError: clips of another shape or type.
        ToolchainError, MemoryOverflowError: the build fails or does not fit the board.
        DeviceError: the net did not run at a clip's end.
    """
    from ..targets.cortex_m import driver
    from ..targets.cortex_m.elf import elf_memory
    from .pipeline import load_artifact

    hops = clip_hops(clips)
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
    runs = driver.run(fw, [row.tobytes() for row in hops], port=port)
    per_clip = [runs[i: i + WINDOW_HOPS] for i in range(0, len(runs), WINDOW_HOPS)]
    frontend, resize, net, total, duty = zip(*(_clip_counts(c) for c in per_clip))
    outputs = np.stack([np.frombuffer(m.output, np.int8) for m in clip_ends(runs)])
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
        "audio_input_bytes": HOP_BYTES, "hop_samples": HOP_SAMPLES, "stride_hops": STRIDE_HOPS,
        "stream_state_bytes": STATE_BYTES, "window_bytes": WINDOW_BYTES, "lent_bytes": LENT_BYTES,
        "net_input_bytes": int(np.prod(artifact.input_shape)),
        "frontend_in_arena": shares_arena(artifact.arena_bytes),
    }
    net_layers = [m.per_layer[PROFILE_SLOTS:] for m in clip_ends(runs)]
    return AudioRun(
        outputs=outputs.reshape(len(per_clip), *artifact.output_shape[1:]), memory=memory, unit=runs[0].unit,
        frontend_counts=frontend, resize_counts=resize, net_counts=net, total_counts=total, duty_counts=duty,
        layer_counts=tuple(int(np.median(c)) for c in zip(*net_layers)),
        stack_bytes=max(m.stack_bytes for m in runs), firmware=fw)


def build_audio_host(audio_dir: Path) -> HostModel:
    """The keyword firmware's model sources in ``audio_dir`` (from :func:`write_audio_sources`)
    built for this machine, so the board's outputs can be compared with the same C compiled for
    the host. A streaming model: its ``run`` takes rows of one hop (:func:`clip_hops`) and feeds
    them all, in order, to one process started from power-on; :func:`run_audio_host` gives the
    logits per clip."""
    from .host_build import build_host

    audio_dir = Path(audio_dir)
    host = build_host(audio_dir, extra_sources=[audio_dir / "net_model.c", *sorted((audio_dir / "frontend").glob("*.c"))])
    return replace(host, stream=True)


def run_audio_host(host: HostModel, clips: np.ndarray) -> np.ndarray:
    """Logits per clip, ``(N, output_bytes)`` int8, of int16 ``clips`` streamed back to back through
    the host build of the keyword firmware (:func:`build_audio_host`)."""
    return clip_ends(host.run(clip_hops(clips)))
