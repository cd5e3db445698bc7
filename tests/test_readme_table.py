"""The README's measured table is rendered from bench/results and must be current."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_measured_table_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "readme_table.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\nrun: python bench/readme_table.py"
