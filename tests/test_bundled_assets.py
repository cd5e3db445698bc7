"""The bundled supernet, predictor, latency table and firmware overhead belong together and to this
toolchain."""

from pathlib import Path

import pytest

from edgenas.boards import get_board
from edgenas.cost.latency_table import LatencyTable
from edgenas.estimate import AccuracyPredictor
from edgenas.estimate.registry import PREDICTORS_DIR
from edgenas.extract.pipeline import default_latency_table
from edgenas.profile import get_profiler
from edgenas.space import get_space, largest_arch, smallest_arch
from edgenas.supernet import load_supernet
from edgenas.supernet.bundled import bundled_supernet_dir
from edgenas.supernet.checkpoint import weights_sha256


BUNDLES = {"fashion-mnist": ("mcu-mbv2", 10), "kws": ("kws-mbv2", 12)}
"""Each bundled supernet's dataset, and the space and class count it was trained in."""


@pytest.mark.parametrize("dataset", BUNDLES)
def test_bundled_supernet_is_complete_and_small(dataset):
    directory = bundled_supernet_dir(dataset)
    net, meta = load_supernet(directory)
    assert meta["complete"] and meta["dataset"] == dataset
    space, classes = BUNDLES[dataset]
    assert net.spec == get_space(space, in_channels=1, num_classes=classes)
    assert sum(p.stat().st_size for p in directory.iterdir()) < 10 * 1024 * 1024


@pytest.mark.parametrize("dataset", BUNDLES)
def test_bundled_predictor_matches_the_supernet(dataset):
    net, _ = load_supernet(bundled_supernet_dir(dataset))
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / dataset)
    assert predictor.spec == net.spec
    big, small = predictor([largest_arch(net.spec), smallest_arch(net.spec)])
    assert 0.0 < small < big < 1.0
    # Fitted on accuracies measured with exactly these weights (refit after retraining the supernet).
    assert predictor.supernet_sha256 == weights_sha256(bundled_supernet_dir(dataset))


def test_bundled_latency_table_is_current():
    """Fails when the kernels or the target kit change without `edgenas profile` rebuilding it."""
    path = default_latency_table(get_board("mps2-an500"))
    assert path is not None
    table = LatencyTable.load(path, fingerprint=get_profiler("cortex-m7").fingerprint())
    net, _ = load_supernet(bundled_supernet_dir())
    assert table.spec == net.spec
    assert table.predict(largest_arch(net.spec)) > table.predict(smallest_arch(net.spec)) > 0


def test_the_keyword_space_table_is_current_and_complete():
    """The audio space's Cortex-M7 table (`edgenas profile --space kws-mbv2 --classes 12`) goes
    stale with the same kernel changes as the image one, and must hold every entry of its space."""
    from edgenas.space.signature import space_signatures

    spec = get_space("kws-mbv2", in_channels=1, num_classes=12)
    path = default_latency_table(get_board("mps2-an500"), spec.name)
    assert path is not None and path.name == "mps2-an500.kws-mbv2.json"
    table = LatencyTable.load(path, fingerprint=get_profiler("cortex-m7").fingerprint())
    assert table.spec == spec and not table.missing(s.key for s in space_signatures(spec))


def test_firmware_overhead_calibration_is_current():
    """Fails when the kernels or the target kit change without `python -m edgenas.cost.calibrate`
    re-measuring the firmware overhead (a stale one let a 128 KB search link 135 KB)."""
    import json

    from edgenas.cost.overhead import OVERHEAD_TABLE
    from edgenas.targets.cortex_m.profile import sources_hash

    assert json.loads(Path(OVERHEAD_TABLE).read_text()).get("runtime_sources") == sources_hash()
