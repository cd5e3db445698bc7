"""The cost model and the search space load without torch: a search on a predictor and a latency
table should not pay seconds of import time (and memory) for a library it never calls."""

import subprocess
import sys


def test_cost_and_space_do_not_import_torch():
    code = ("import sys, edgenas.cost, edgenas.space, edgenas.cost.latency_table; "
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('edgenas.supernet')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
