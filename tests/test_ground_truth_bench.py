"""bench/ground_truth.py's arithmetic: one run's noise from paired repeats, the simulated ceiling of
a perfect estimator, and the pairing of two training budgets (else the bench would misstate how
far the from-scratch truth can rank subnets)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from ground_truth import budget_pairs, perfect_estimator_tau, run_noise  # noqa: E402


def test_run_noise_is_one_runs_standard_deviation_from_paired_differences():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 0.3, 20000), rng.normal(0, 0.3, 20000)
    assert run_noise(a - b) == pytest.approx(0.3, rel=0.02)
    assert run_noise(np.array([0.0, 0.0])) == 0.0


def test_the_ceiling_falls_as_the_noise_grows_and_is_one_without_noise():
    truths = np.linspace(0.87, 0.92, 30)
    quiet = perfect_estimator_tau(truths, 1e-9, draws=50)
    loud = perfect_estimator_tau(truths, 0.01, draws=50)
    assert quiet["mean"] == 1.0 and quiet["shrink"] == 1.0
    assert loud["mean"] < 0.8 and loud["p05"] <= loud["mean"] <= loud["p95"] and loud["shrink"] < 1.0
    # noise as large as the spread: nothing is left to rank, the clean accuracies collapse to the mean
    assert perfect_estimator_tau(np.array([0.90, 0.91]), 0.01, draws=10)["shrink"] == 0.0


def test_budget_pairs_compare_only_subnets_trained_for_both_budgets():
    subnets = {"a": {"inherited_test": 0.90}, "b": {"inherited_test": 0.91}, "c": {"inherited_test": 0.92},
               "d": {"inherited_test": 0.93}, "e": {}}
    baselines = {("a", 15): {"test_acc": 0.88}, ("b", 15): {"test_acc": 0.87}, ("c", 15): {"test_acc": 0.90},
                 ("d", 15): {"test_acc": 0.91}, ("e", 15): {"test_acc": 0.9},
                 ("a", 178): {"test_acc": 0.905}, ("b", 178): {"test_acc": 0.915}, ("c", 178): {"test_acc": 0.925},
                 ("e", 178): {"test_acc": 0.9}, ("z", 40): {"test_acc": 0.5}}
    got = budget_pairs(subnets, baselines, 15)
    assert set(got) == {"178"}  # "e" has no inherited accuracy, "z" is not an estimators subnet
    entry = got["178"]
    assert set(entry["subnets"]) == {"a", "b", "c"}
    assert entry["mean_gap_points_15"] == pytest.approx(100 * np.mean([-0.02, -0.04, -0.02]), abs=0.01)
    assert entry["mean_gap_points_178"] == pytest.approx(0.5, abs=0.01)
    assert entry["kendall_tau_inherited_vs_178"] == 1.0
    assert entry["kendall_tau_15_vs_178"] == pytest.approx(1 / 3, abs=1e-3)
