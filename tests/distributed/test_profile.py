"""``profile`` on two emulated boards at once: the same table as one board, written by the driver."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgenas.boards import get_board
from edgenas.cli import app
from edgenas.distributed import RayPool
from edgenas.profile import arch_signatures, build_table
from edgenas.profile.cortex_m import CortexMProfiler
from edgenas.space import get_space, smallest_arch

pytestmark = [pytest.mark.board, pytest.mark.timeout(300)]


def test_two_emulated_boards_build_the_same_table_as_one(ray_cluster, tmp_path):
    spec = get_space("tiny-test")
    arch = smallest_arch(spec)  # stem, 2 blocks, head: 4 entries in one firmware, the overhead in another
    prof = CortexMProfiler(get_board("mps2-an500"), batch_size=4)
    one = build_table(prof, spec, tmp_path / "one.json", archs=[arch])
    seen = []
    two = build_table(prof, spec, tmp_path / "two.json", archs=[arch], pool=RayPool(2), watch=seen.append)
    assert two.missing([s.key for s in arch_signatures(spec, arch)]) == []
    assert two.to_dict() == one.to_dict()  # entries, samples and overhead alike
    assert any(sum(1 for label in s.values() if label) == 2 for s in seen)  # both boards busy at once


def test_profile_cli_runs_workers_only_on_emulated_boards(tmp_path):
    host = CliRunner().invoke(app, ["profile", "--target", "host", "--backend", "onnxruntime", "--workers", "2",
                                    "--table", str(tmp_path / "t.json")])
    assert host.exit_code == 2 and "emulated Cortex-M boards only" in " ".join(host.stderr.split())
    real = CliRunner().invoke(app, ["profile", "--target", "cortex-m7", "--board", "nucleo-f746zg", "--workers", "2",
                                    "--table", str(tmp_path / "t.json")])
    assert real.exit_code == 2 and "hint:" in real.stderr
    assert not (tmp_path / "t.json").exists()
