import json
import shutil

import numpy as np
import pytest
import torch

from edgenas.errors import CheckpointError, DataError
from edgenas.estimate.registry import PREDICTORS_DIR
from edgenas.estimate import (
    AccuracyPredictor,
    ArchEncoder,
    PredictorConfig,
    arch_list,
    collect_samples,
    measure_accuracy,
    read_samples,
)
from edgenas.space import get_space, sample_arch


def target(arch):
    """A smooth, known 'accuracy' with interactions, so ranking quality is checkable."""
    blocks = [b for s in arch.stages for b in s]
    return 0.5 + 0.1 * arch.width + arch.resolution / 400 + 0.01 * sum(b.expand for b in blocks) \
        + 0.005 * sum(b.kernel for b in blocks[:2])


def test_encoding_is_one_hot_per_choice():
    spec = get_space("mcu-mbv2")
    enc = ArchEncoder(spec)
    assert enc.dim == 16 * 6 + 4 * 3 + 3 + 5
    rng = np.random.default_rng(0)
    for arch in [sample_arch(spec, rng) for _ in range(20)]:
        x = enc.encode([arch])[0]
        assert set(np.unique(x)) <= {0.0, 1.0}
        assert x.sum() == 2 * sum(arch.depths) + len(arch.stages) + 2
        # slot 4 (absent when a stage has depth < 4) is all zeros
        if arch.depths[0] < 4:
            assert not x[3 * 6:4 * 6].any()


@pytest.mark.slow
def test_predictor_ranks_held_out_archs_and_round_trips(tmp_path):
    spec = get_space("mcu-mbv2")
    archs = arch_list(spec, 300, seed=1)
    y = [target(a) for a in archs]
    model = AccuracyPredictor.fit(spec, archs[:240], y[:240], PredictorConfig(epochs=30, seed=0))
    held = model.evaluate(archs[240:], y[240:])
    assert held["kendall_tau"] > 0.8
    assert held["rmse"] < 0.5 * float(np.std(y))
    model.save(tmp_path / "p")
    again = AccuracyPredictor.load(tmp_path / "p")
    np.testing.assert_array_equal(again.predict(archs[240:]), model.predict(archs[240:]))
    assert again.metrics["heldout_kendall_tau"] == held["kendall_tau"]


def test_predictor_training_is_deterministic():
    spec = get_space("tiny-test")
    archs = arch_list(spec, 40, seed=0)
    y = [target(a) for a in archs]
    a = AccuracyPredictor.fit(spec, archs, y, PredictorConfig(epochs=5, hidden=32))
    b = AccuracyPredictor.fit(spec, archs, y, PredictorConfig(epochs=5, hidden=32))
    np.testing.assert_array_equal(a.predict(archs), b.predict(archs))


def test_predictor_errors_have_hints(tmp_path):
    with pytest.raises(DataError):
        AccuracyPredictor.fit(get_space("tiny-test"), [], [])
    with pytest.raises(CheckpointError) as err:
        AccuracyPredictor.load(tmp_path)
    # the CLI's users are told the commands and flags, not a Python API
    assert "`edgenas predictor fit" in err.value.hint and "--predictor DIR" in err.value.hint
    assert "AccuracyPredictor" not in err.value.hint
    corrupt = tmp_path / "corrupt"
    shutil.copytree(PREDICTORS_DIR / "fashion-mnist", corrupt)
    (corrupt / "predictor.safetensors").write_bytes(b"not safetensors" * 4)
    with pytest.raises(CheckpointError, match="cannot load the predictor") as err:
        AccuracyPredictor.load(corrupt)
    assert "edgenas predictor fit" in err.value.hint
    meta = json.loads((PREDICTORS_DIR / "fashion-mnist" / "predictor.json").read_text())
    shutil.copy(PREDICTORS_DIR / "fashion-mnist" / "predictor.safetensors", corrupt)
    # a predictor.json that is not UTF-8, or whose numbers are not numbers, was a traceback
    for content in (b"\xff\xfe{", json.dumps({**meta, "mean": "abc"}).encode()):
        (corrupt / "predictor.json").write_bytes(content)
        with pytest.raises(CheckpointError, match="cannot load the predictor"):
            AccuracyPredictor.load(corrupt)


@pytest.mark.slow
def test_collection_measures_inherited_accuracy_and_resumes(tiny_supernet, tmp_path):
    torch.set_num_threads(1)
    net, data = tiny_supernet
    path = tmp_path / "acc.jsonl"

    class Stop(Exception):
        pass

    def stop_after_three(done, total, sample):
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        collect_samples(net, data, path, count=6, seed=0, calib_images=64, progress=stop_after_three)
    assert len(read_samples(path)) == 3
    with path.open("a") as f:
        f.write('{"arch": "r12|w0.5')  # a torn line from a crash
    seen = []
    samples = collect_samples(net, data, path, count=6, seed=0, calib_images=64,
                              progress=lambda d, n, s: seen.append(d))
    assert seen == [4, 5, 6]  # the first three were not measured again
    assert [s.arch for s in samples] == arch_list(net.spec, 6, 0)
    assert len(read_samples(path)) == 6
    again = measure_accuracy(net, samples[4].arch, data, calib_images=64)
    assert again == samples[4].accuracy
    assert all(0.0 <= s.accuracy <= 1.0 for s in samples)


@pytest.mark.slow
def test_samples_record_how_they_were_measured_and_refuse_a_resume_with_other_settings(tiny_supernet, tmp_path):
    torch.set_num_threads(1)
    net, data = tiny_supernet
    path = tmp_path / "acc.jsonl"
    first = collect_samples(net, data, path, count=2, seed=0, calib_images=64, val_images=10)
    assert [(s.calib_images, s.val_images) for s in read_samples(path)] == [(64, 10), (64, 10)]
    assert read_samples(path) == first
    assert measure_accuracy(net, first[1].arch, data, calib_images=64, val_images=10) == first[1].accuracy
    with pytest.raises(DataError, match="64 calibration and 10 validation"):
        collect_samples(net, data, path, count=3, seed=0, calib_images=64)  # all val images this time
    assert len(read_samples(path)) == 2  # nothing mixed in


def test_warm_start_begins_from_the_given_predictor_and_refuses_another_space():
    spec = get_space("tiny-test")
    rng = np.random.default_rng(0)
    archs = [sample_arch(spec, rng) for _ in range(30)]
    accs = [0.5 + 0.01 * sum(b.kernel for _, _, b in a.blocks()) for a in archs]
    prior = AccuracyPredictor.fit(spec, archs, accs, PredictorConfig(hidden=16, epochs=20))
    zero = PredictorConfig(hidden=16, epochs=0)
    started = AccuracyPredictor.fit(get_space("tiny-test", num_classes=7), archs[:5], accs[:5], zero, warm_start=prior)
    # No training epochs: the warm-started net is the prior's (on a new mean/std scale).
    assert np.corrcoef(started.predict(archs), prior.predict(archs))[0, 1] > 0.999
    assert started.metrics["warm_start"] is True
    with pytest.raises(DataError, match="another space"):
        AccuracyPredictor.fit(spec, archs[:5], accs[:5], PredictorConfig(hidden=32, epochs=0), warm_start=prior)
