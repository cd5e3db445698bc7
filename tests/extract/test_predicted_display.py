"""A predicted accuracy is shown clipped to [0, 100 %] and named a predictor estimate: on easy data
the predictor scores subnets above 100 % (the search still ranks by that raw score)."""

import json
import re

import pytest

from edgenas.boards import get_board
from edgenas.cost.model import CostModel
from edgenas.extract.pipeline import ExtractReport
from edgenas.extract.report import render_markdown
from edgenas.report import explain, write_html_report
from edgenas.report.figures import clipped_tradeoff
from edgenas.report.predicted import predicted_pct, shown_accuracy
from edgenas.report.sections import why
from edgenas.report.tradeoffs import Tradeoff
from edgenas.space import get_space, largest_arch


def _over_100(archs):
    """A predictor that extrapolates: every subnet above 100 %, larger ones higher."""
    return [1.05 + 1e-3 * sum(c.expand for _, _, c in a.blocks()) for a in archs]


def _percentages(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(-?\d+(?:\.\d+)?)\s?%", text)]


@pytest.mark.parametrize("score, text", [
    (0.9731, "97.31 % (predictor estimate)"),
    (1.0, "100.00 % (predictor estimate)"),
    (1.0342, "100.00 % (predictor estimate, clipped)"),
    (-0.02, "0.00 % (predictor estimate, clipped)"),
    (None, "n/a"),
])
def test_predicted_text_is_clipped_and_says_estimate(score, text):
    assert predicted_pct(score) == text
    assert shown_accuracy(score) == (None if score is None else min(1.0, max(0.0, score)))


def test_explain_keeps_the_raw_score_and_the_page_shows_at_most_100():
    spec = get_space("tiny-test")
    arch = largest_arch(spec)
    explained = explain(spec, arch, _over_100, CostModel(spec, get_board("mps2-an500"), None), {})
    assert explained["predictor_score"] == pytest.approx(_over_100([arch])[0]) and explained["predictor_score"] > 1
    assert explained["predicted_accuracy"] == 1.0
    html = why(explained, None)
    assert "Predicted accuracy 100.00 % (predictor estimate, clipped)" in html
    assert all(p <= 100 for p in _percentages(html)), html


def _report(score: float) -> ExtractReport:
    memory = {"arena_bytes": 1000, "sram_bytes": 2000, "flash_bytes": 9000, "model_flash_bytes": 4000}
    return ExtractReport(
        request={"board": "mps2-an500", "core": "cortex-m7", "limits": {"sram_bytes": 65536}, "seed": 0,
                 "fitness": "predictor", "finetune_epochs": 0},
        arch="a", search={"evaluations": 10, "wall_s": 0.5, "predicted_accuracy": shown_accuracy(score),
                          "predictor_score": score},
        accuracy={"test_images": 100, "float": 0.97, "int8": 0.96}, predicted=dict(memory, latency=None),
        measured={"arena_bytes": 1000, "ram_bytes": 2100, "flash_bytes": 9100, "weights_bytes": 4000,
                  "latency_median": 1e6, "latency_unit": "instructions"},
        verified=True, timings_s={}, files={})


def test_report_md_shows_a_clipped_estimate():
    text = render_markdown(_report(1.0712))
    assert "predicted accuracy 100.00 % (predictor estimate, clipped)" in text
    assert all(p <= 100 for p in _percentages(text)), text
    assert "predicted accuracy 93.10 % (predictor estimate)" in render_markdown(_report(0.931))


def test_accuracy_plots_are_clipped_but_keep_costs():
    t = Tradeoff("sram_bytes", trials=((10.0, 1.2, True), (20.0, 0.9, False)), random=((5.0, -0.1, True),),
                 front=((10.0, 1.2),), chosen=(10.0, 1.2), limit=30.0)
    c = clipped_tradeoff(t)
    assert c.trials == ((10.0, 1.0, True), (20.0, 0.9, False)) and c.random == ((5.0, 0.0, True),)
    assert c.front == ((10.0, 1.0),) and c.chosen == (10.0, 1.0) and c.limit == 30.0


@pytest.mark.parametrize("estimator, shown", [
    ("predictor", "<b>100.00 % (predictor estimate, clipped)</b><span>predicted accuracy of the chosen subnet"),
    ("jacob_cov", "<b>1.0400</b><span>fitness of the chosen subnet"),  # a proxy's score is no accuracy
])
def test_a_search_page_shows_a_predictor_score_as_a_clipped_estimate(tmp_path, estimator, shown):
    (tmp_path / "search.json").write_text(json.dumps({"estimator": estimator, "fitness": 1.04, "strategy": "evolution"}))
    (tmp_path / "trials.json").write_text("[]")
    html = write_html_report(tmp_path).read_text()
    assert shown in html
