"""The C front end on the emulated Cortex-M7 (QEMU mps2-an500) gives the Python reference's
bytes on synthesised clips, and what it costs there: instructions per second of audio, scratch
and stack.

The front end is wrapped in a one-"layer" model (``en_model_invoke``: 32,000 input bytes = one
second of int16 audio, 1,960 output bytes = 49 x 40 features) so the standard harness and serial
protocol run it, as a generated model will once the firmware path of #23 exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgenas.audio import log_mel_u8
from edgenas.paths import RUNTIME_C_DIR

pytestmark = pytest.mark.board

FRONTEND = RUNTIME_C_DIR / "frontend"
MODEL_H = """#ifndef EN_FRONTEND_MODEL_H
#define EN_FRONTEND_MODEL_H
#include <stdint.h>
#define EN_MODEL_INPUT_BYTES 32000
#define EN_MODEL_OUTPUT_BYTES 1960
#define EN_MODEL_NUM_LAYERS 1
int en_model_invoke(const int8_t *in, int8_t *out);
#endif
"""
MODEL_C = """#include <stdint.h>
#include "edgenas/frontend.h"
#include "edgenas/profile.h"
#include "model.h"

/* The scratch is the model's arena, so the harness measures how much of it the front end touches. */
static int32_t en_arena[EN_FE_SCRATCH_WORDS] __attribute__((aligned(16)));

int en_model_invoke(const int8_t *in, int8_t *out) {
    en_profile_begin();
    const en_status s = en_frontend_u8((const int16_t *)(const void *)in, 16000, (uint8_t *)out, 49, en_arena);
    en_profile_mark(0);
    return (int)s;
}
"""


def _firmware_sources(tmp: Path) -> list[Path]:
    """The wrapper, the front end's sources, and its public headers copied under tmp/edgenas/
    (the build adds each source file's folder to the include path)."""
    (tmp / "edgenas").mkdir(parents=True)
    for header in ("frontend.h", "frontend_config.h"):
        shutil.copy(FRONTEND / "include" / "edgenas" / header, tmp / "edgenas" / header)
    (tmp / "model.h").write_text(MODEL_H)
    (tmp / "model.c").write_text(MODEL_C)
    return [tmp / "model.c", tmp / "model.h", *sorted((FRONTEND / "src").glob("*.[ch]"))]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)")
def test_frontend_on_emulated_m7_matches_python(tmp_path):
    from edgenas.boards import BoardRegistry
    from edgenas.data.kws import KwsRecipe, build_keyword_dataset, load_keyword_folder
    from edgenas.targets.cortex_m import driver
    from edgenas.targets.cortex_m.build import build_firmware

    # Two inputs (a serial round trip of 32 KB takes seconds in QEMU): a synthesised keyword from
    # a test-split voice, and full-scale noise. The host tests cover many more clips.
    recipe = KwsRecipe(keywords=("go",), unknown_words=("dog",), takes=1, unknown_per_speaker=0,
                       silence_per_speaker=0)
    build_keyword_dataset(tmp_path / "kws", seed=11, recipe=recipe, speakers=("f5", "m3", "croak"))
    splits = load_keyword_folder(tmp_path / "kws")
    noise = np.random.default_rng(0).integers(-32768, 32768, (1, 16_000)).astype(np.int16)
    clips = np.concatenate([splits.test.audio[:1], noise])
    board = BoardRegistry(entry_points=False, user_dir=None).get("mps2-an500")
    fw = build_firmware(_firmware_sources(tmp_path / "fw-src"), board, tmp_path / "fw", with_runtime=False)
    runs = driver.run(fw, [c.astype("<i2").tobytes() for c in clips])
    assert len(runs) == 2
    for clip, m in zip(clips, runs):
        assert m.output == log_mel_u8(clip).tobytes()
    m = runs[0]
    # Measured at commit time: 3.38M instructions per second of audio (69k a frame) on the emulated
    # M7; the bounds catch a runaway loop or a lost optimisation, not a few per cent.
    assert m.unit == "instructions" and 1_000_000 < m.total_count < 6_000_000
    assert m.arena_touched_bytes is not None and m.arena_touched_bytes <= 514 * 4
    assert m.stack_bytes < 512
    print(f"EN_FRONTEND instructions={m.total_count} arena_touched={m.arena_touched_bytes} "
          f"stack={m.stack_bytes} flash={m.flash_bytes}")
