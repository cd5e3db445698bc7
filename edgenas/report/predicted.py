"""Predicted accuracy as a person sees it.

The accuracy predictor is a regression: on easy data it scores good subnets above 100 %, and the
search rightly ranks by that raw score (it still orders them). No accuracy can leave [0, 100 %], so
whatever is shown (report.md, report.html, report.json's ``predicted_accuracy``, CLI output) is
clipped and labelled an estimate; the raw score is kept under ``predictor_score`` for tools.
"""

from __future__ import annotations

ESTIMATE = "predictor estimate"


def shown_accuracy(score: float | None) -> float | None:
    """``score`` clipped to [0, 1] (None stays None)."""
    return None if score is None else min(1.0, max(0.0, float(score)))


def predicted_pct(score: float | None) -> str:
    """``"97.31 % (predictor estimate)"``; ``", clipped"`` is added when the raw score left [0, 1]."""
    shown = shown_accuracy(score)
    if shown is None:
        return "n/a"
    return f"{100 * shown:.2f} % ({ESTIMATE}{', clipped' if shown != float(score) else ''})"  # type: ignore[arg-type]
