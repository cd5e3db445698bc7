"""The guard-rail baselines learn what is learnable, repeat for a seed, and turn losses into warnings."""

import numpy as np
import pytest

from edgenas.data import DataSplits, ImageSet, make_synthetic
from edgenas.estimate.baselines import (SMALL_CNN_MAX_EPOCHS, SMALL_CNN_STEPS, BaselineResult, logistic_regression,
                                       small_cnn, small_cnn_steps)
from edgenas.extract.pipeline import baseline_warnings


def test_logistic_regression_separates_the_synthetic_classes_and_chance_stays_chance():
    easy = logistic_regression(make_synthetic(seed=0))
    assert easy.test_acc > 0.9 and easy.params == 16 * 16 * 4 + 4
    rng = np.random.default_rng(1)

    def noise(n):
        return ImageSet(rng.integers(0, 256, (n, 8, 8, 1), dtype=np.uint8), rng.integers(0, 4, n))

    labels_are_noise = DataSplits("noise", noise(256), noise(64), noise(400), ("a", "b", "c", "d"))
    assert logistic_regression(labels_are_noise).test_acc < 0.4


@pytest.mark.slow  # trains a CNN twice: about 4 s on one thread
def test_small_cnn_is_repeatable_for_a_seed_and_learns():
    data = make_synthetic(seed=0)
    a, b = small_cnn(data, steps=150, seed=3), small_cnn(data, steps=150, seed=3)
    assert (a.val_acc, a.test_acc) == (b.val_acc, b.test_acc)
    assert a.test_acc > 0.8 and a.steps == 150 and "150 steps of 64" in a.recipe


def test_small_cnn_is_sized_in_steps_so_small_sets_get_enough_updates():
    """Three epochs of sklearn's digits (1,294 training images) were 63 steps: 52.8 % test accuracy.
    Steps come first; epochs only add; a tiny set stops after SMALL_CNN_MAX_EPOCHS passes."""
    assert small_cnn_steps(1294) == SMALL_CNN_STEPS == small_cnn_steps(1294, epochs=3)
    assert small_cnn_steps(60000, epochs=3) == 3 * 938 > SMALL_CNN_STEPS
    assert small_cnn_steps(60000, steps=500) == 500
    assert small_cnn_steps(96) == 2 * SMALL_CNN_MAX_EPOCHS
    assert small_cnn_steps(1, steps=0) == 1


def test_a_baseline_that_beats_the_subnet_becomes_a_warning_with_what_to_try():
    rows = [BaselineResult("logistic regression", 0.9, 0.91, 1.0, 10, ""), BaselineResult("small CNN", 0.8, 0.85, 1.0, 10, "")]
    (warning,) = baseline_warnings(0.88, rows)
    assert "loses to the logistic regression (91.00 %)" in warning and "--finetune-epochs" in warning
    assert baseline_warnings(0.95, rows) == []
