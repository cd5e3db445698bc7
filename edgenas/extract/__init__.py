"""The main job: budget → search → subnet → int8 firmware verified on the board → report."""

from .pipeline import ExtractReport, ExtractRequest, extract

__all__ = ["ExtractReport", "ExtractRequest", "extract"]
