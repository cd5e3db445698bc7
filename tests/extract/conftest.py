"""A tiny supernet trained on synthetic data, its predictor, shared by the extract tests."""

import pytest

from edgenas.data import make_synthetic
from edgenas.estimate import AccuracyPredictor, PredictorConfig
from edgenas.estimate.dataset import collect_samples
from edgenas.space import get_space
from edgenas.supernet import Phase, TrainConfig, load_supernet, train_supernet


@pytest.fixture(scope="package")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("extract")
    config = TrainConfig(
        phases=(Phase("full", 1, 0.1), Phase("kernel", 1, 0.03), Phase("depth", 1, 0.02), Phase("expand", 1, 0.02)),
        batch_size=32, seed=0, max_steps_per_epoch=4, threads=1, eval_images=32,
    )
    train_supernet(make_synthetic(seed=0), get_space("tiny-test"), root / "supernet", config)
    net, _ = load_supernet(root / "supernet")
    samples = collect_samples(net, make_synthetic(seed=0), root / "samples.jsonl", count=12, seed=0, calib_images=64)
    predictor = AccuracyPredictor.fit(
        net.spec, [s.arch for s in samples], [s.accuracy for s in samples], PredictorConfig(hidden=32, epochs=30)
    )
    predictor.save(root / "predictor")
    return root
