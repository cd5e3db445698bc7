"""``compile_graph``: graph in, ``model.c``/``model.h``/``memory.json`` out.

The one entry point the build drivers call: drop padding-only kernel taps (``crop_taps``), lower
(fusion, in-place), plan the arena, generate C, write the files. ``memory.json`` records the plan (offsets, lifetimes, decisions) and the
layer table, so reports and the profiler can name layers and check memory without re-planning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .codegen import GENERATOR_VERSION, GeneratedModel, generate
from .crop_taps import crop_dead_taps
from .fuse import FUSE_ADD_DEFAULT, lower
from .ir import Graph
from .plan import MemoryPlan, plan_memory


@dataclass(frozen=True)
class CompileResult:
    """What :func:`compile_graph` wrote and the numbers behind it."""

    out_dir: Path
    model_c: Path
    model_h: Path
    memory_json: Path
    plan: MemoryPlan
    arena_bytes: int
    flash_bytes: int
    num_layers: int
    layers: list[dict]


def compile_graph(
    graph: Graph,
    out_dir: str | Path,
    *,
    arena_limit_bytes: int | None = None,
    fuse_add: str = FUSE_ADD_DEFAULT,
    in_place: bool = True,
    crop_taps: bool = True,
    fc_wide_max_weights: int = 0,
) -> CompileResult:
    """Compile ``graph`` to C sources in ``out_dir`` (created if missing).

    ``crop_taps`` False compiles every kernel as written (tests of kernel paths that cropping
    would route elsewhere, such as a 3x3 on a one-pixel-wide map, which becomes a 3x1).
    ``fc_wide_max_weights`` N > 0 stores FC layers of at most N weights as int16: faster on the
    DSP build, one more flash byte per weight (:func:`.codegen.pack_fc_wide`).

    Raises:
        MemoryOverflowError: the planned arena exceeds ``arena_limit_bytes``.
        UnsupportedOpError: an op or interface the C runtime cannot run.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if crop_taps:
        graph = crop_dead_taps(graph)
    plan = plan_memory(graph, schedule=lower(graph, fuse_add=fuse_add, in_place=in_place),
                       arena_limit_bytes=arena_limit_bytes)
    gen: GeneratedModel = generate(graph, plan, fc_wide_max_weights=fc_wide_max_weights)
    model_c, model_h, memory_json = out / "model.c", out / "model.h", out / "memory.json"
    model_c.write_text(gen.model_c)
    model_h.write_text(gen.model_h)
    record = {
        "schema": 1,
        "generator": GENERATOR_VERSION,
        "graph": graph.name,
        "flash_bytes": gen.flash_bytes,
        "num_layers": len(gen.layers),
        "fc_wide_max_weights": fc_wide_max_weights,
        "layers": gen.layers,
        **plan.to_json(),
    }
    memory_json.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return CompileResult(
        out_dir=out, model_c=model_c, model_h=model_h, memory_json=memory_json, plan=plan,
        arena_bytes=plan.arena_bytes, flash_bytes=gen.flash_bytes, num_layers=len(gen.layers), layers=gen.layers,
    )
