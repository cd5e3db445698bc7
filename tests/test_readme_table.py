"""The README's measured table is rendered from bench/results and must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_measured_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "readme_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\nrun: python bench/readme_table.py"


def _readme_table_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("readme_table", ROOT / "bench" / "readme_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_training_table_shows_a_soup_stage_with_its_branches(monkeypatch):
    """A soup (bench/train_supernet.py --record-soup) is one stage whose runs from the stage
    before it are rows of their own; the stage adds its longest branch's epochs."""
    table = _readme_table_module()

    def run(command, epochs, seconds):
        return {"command": command, "config": {"phases": [{"epochs": epochs}]}, "hardware": "cpu",
                "wall_seconds": seconds, "epochs": epochs}

    stages = [run("edgenas train --out a", 10, 600.0),
              {**run("edgenas soup a b c --out s", 12, 9030.0), "hardware": "cpu",
               "branches": [run("edgenas train --out b", 12, 4800.0), run("edgenas train --out c", 8, 4200.0)],
               "soup": {"seconds": 30.0}}]
    monkeypatch.setattr(table, "_load", lambda name: {"stages": stages, "total_epochs": 22, "total_wall_seconds": 9660.0})
    rows = table.render_training().splitlines()
    assert "| 2a | +12 from 10 (soup ingredient) | cpu | 1 h 20 min | `edgenas train --out b` |" in rows
    assert "| 2b | +8 from 10 (soup ingredient) | cpu | 1 h 10 min | `edgenas train --out c` |" in rows
    assert "| 2 | +12 = 22 |  | 30 s | `edgenas soup a b c --out s` |" in rows
    assert "| all | 22 | | 2 h 41 min | |" in rows


def test_extract_row_shows_the_searched_architecture_from_scratch():
    """Budgets whose pick has a from-scratch run say so beside the hand-designed baseline; the
    others stay silent."""
    table = _readme_table_module()
    row = {"int8_test_acc": 0.9228, "random_best_acc": 0.9192, "baseline_acc": 0.9208, "ram": 32768,
           "searched_scratch_acc": 0.9293, "finetuned_int8_test_acc": None}
    rows = [row, {**row, "ram": 65536, "searched_scratch_acc": None}]
    _, text = table.extract({"summary": rows})
    assert text.endswith("the searched architecture from scratch (float, the baselines' recipe) 92.9 % at 32 KB "
                         "(+0.85 points)")
    _, text = table.extract({"summary": rows[1:]})
    assert "from scratch (float, the baselines' recipe)" not in text
