"""The fingerprint of a Cortex-M table hashes only the C sources that board's build compiles."""

from __future__ import annotations

import shutil

from edgenas.boards import get_board
from edgenas.paths import RUNTIME_C_DIR
from edgenas.targets.cortex_m import profile


def test_sources_hash_covers_only_the_kernels_a_board_compiles(tmp_path, monkeypatch):
    """An M7 table stays current when only the Helium kernels change; the M55's does not."""
    runtime = tmp_path / "runtime_c"
    shutil.copytree(RUNTIME_C_DIR / "src", runtime / "src")
    shutil.copytree(RUNTIME_C_DIR / "include", runtime / "include")
    monkeypatch.setattr(profile, "RUNTIME_C_DIR", runtime)
    m7, m55 = get_board("mps2-an500"), get_board("mps3-an547")
    assert m7.dsp and not m7.mve and m55.mve
    before = {b.name: profile.sources_hash(board=b) for b in (m7, m55)}
    everything = profile.sources_hash()

    mve_file = runtime / "src" / "mve" / "conv.c"
    mve_file.write_text(mve_file.read_text() + "\n/* changed */\n")
    assert profile.sources_hash(board=m7) == before[m7.name]
    assert profile.sources_hash(board=m55) != before[m55.name]
    assert profile.sources_hash() != everything

    arm_file = runtime / "src" / "arm" / "conv2d_s8.c"
    arm_file.write_text(arm_file.read_text() + "\n/* changed */\n")
    assert profile.sources_hash(board=m7) != before[m7.name]
