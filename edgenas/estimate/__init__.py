"""Accuracy estimation: measured (arch, accuracy) pairs and the MLP predictor trained on them."""

from .dataset import AccuracySample, arch_list, collect_samples, measure_accuracy, read_samples
from .predictor import AccuracyPredictor, ArchEncoder, PredictorConfig, kendall_tau, rmse

__all__ = [
    "AccuracyPredictor", "AccuracySample", "ArchEncoder", "PredictorConfig", "arch_list", "collect_samples",
    "kendall_tau", "measure_accuracy", "read_samples", "rmse",
]
