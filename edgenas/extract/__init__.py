"""The main job: budget → search → subnet → int8 firmware verified on the board → report."""

from .pipeline import PREDICTIONS_FILE, ExtractReport, ExtractRequest, extract, per_class_accuracy

__all__ = ["PREDICTIONS_FILE", "ExtractReport", "ExtractRequest", "extract", "per_class_accuracy"]
