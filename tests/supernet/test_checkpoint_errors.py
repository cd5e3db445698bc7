"""Broken checkpoints end in a CheckpointError that says what is wrong, never a traceback
(cases from bench/reliability.py's cli_cases probe)."""

import json
import shutil

import pytest

from edgenas.errors import CheckpointError
from edgenas.paths import SUPERNETS_DIR
from edgenas.supernet import load_meta, load_supernet

BUNDLED = SUPERNETS_DIR / "fashion-mnist"


def _copy(tmp_path):
    out = tmp_path / "sn"
    shutil.copytree(BUNDLED, out)
    return out, json.loads((out / "supernet.json").read_text())


@pytest.mark.parametrize("meta", [[1, 2, 3], {"classes": ["a"]}, {"space": "mcu-mbv2"}])
def test_a_description_without_a_space_table_is_refused(tmp_path, meta):
    out, _ = _copy(tmp_path)
    (out / "supernet.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="does not describe a supernet"):
        load_meta(out)


def test_weights_of_another_space_name_the_first_mismatched_tensor(tmp_path):
    out, meta = _copy(tmp_path)
    meta["space"]["head_channels"] = 192  # a valid space, but not the one the weights were trained on
    (out / "supernet.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"does not match space .* is \(\d+"):
        load_supernet(out)
