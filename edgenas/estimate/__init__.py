"""Accuracy estimation: measured (arch, accuracy) pairs and the MLP predictor trained on them."""

from .dataset import AccuracySample, arch_list, collect_samples, measure_accuracy, read_samples
from .predictor import AccuracyPredictor, ArchEncoder, PredictorConfig, kendall_tau, rmse
from .registry import Estimator, EstimatorContext, get_estimator, list_estimators, register_estimator
from . import halving, proxies  # noqa: F401  (register the scratch/halving and zero-cost proxy estimators)

__all__ = [
    "AccuracyPredictor", "AccuracySample", "ArchEncoder", "Estimator", "EstimatorContext", "PredictorConfig", "arch_list", "collect_samples",
    "get_estimator", "kendall_tau", "list_estimators", "measure_accuracy", "read_samples", "register_estimator", "rmse",
]
