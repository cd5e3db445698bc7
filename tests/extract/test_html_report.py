"""report.html: renders in headless Chromium without console errors, its key numbers equal
report.json, and its sensitivity table is the predictor's own arithmetic."""

import json
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.boards import get_board
from edgenas.cli import app
from edgenas.cost import macs
from edgenas.estimate import AccuracyPredictor
from edgenas.extract import ExtractRequest, extract
from edgenas.report import load_layer_view
from edgenas.space import Arch, SpaceSpec
from edgenas.supernet import load_meta

pytestmark = pytest.mark.board

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def out(assets, tmp_path_factory):
    folder = tmp_path_factory.mktemp("html") / "x"
    extract(ExtractRequest(
        board=get_board("mps2-an500"), limits={"sram_bytes": 24 * 1024}, out_dir=folder,
        supernet_dir=assets / "supernet", predictor_dir=assets / "predictor", generations=3, verify_inputs=2, seed=3,
    ))
    return folder


class _Keys(HTMLParser):
    """Collects ``data-key`` → ``data-value`` pairs from a rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self.values[a["data-key"]] = a.get("data-value", "")


def _lookup(data: dict, dotted: str):
    for part in dotted.split("."):
        data = data[part]
    return data


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is installed by `make test`'s set-up")
def test_page_renders_in_chromium_without_errors_and_matches_report_json(out, tmp_path):
    page = (out / "report.html").as_uri()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([CHROMIUM, *flags, "--enable-logging=stderr", "--v=0", "--dump-dom", page],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,3000", page],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000
    parser = _Keys()
    parser.feed(dom.stdout)
    report = json.loads((out / "report.json").read_text())
    for key in ("accuracy.int8", "accuracy.float", "measured.arena_bytes", "measured.ram_bytes",
                "measured.flash_bytes", "measured.latency_median", "explain.predicted_accuracy"):
        assert key in parser.values, key
        assert json.loads(parser.values[key]) == pytest.approx(_lookup(report, key)), key
    assert report["arch"] in dom.stdout
    assert "Why this subnet" in dom.stdout and "<svg" in dom.stdout


def test_sensitivity_entry_equals_a_direct_predictor_call(out, assets):
    report = json.loads((out / "report.json").read_text())
    explain = report["explain"]
    predictor = AccuracyPredictor.load(assets / "predictor")
    chosen = Arch.parse(report["arch"])
    assert explain["sensitivity"], "a subnet of the tiny space has one-step neighbours"
    for row in explain["sensitivity"][:3]:
        want = predictor([Arch.parse(row["arch"])])[0] - predictor([chosen])[0]
        assert row["accuracy_delta"] == pytest.approx(float(want), abs=1e-6)
    assert explain["predicted_accuracy"] == pytest.approx(float(predictor([chosen])[0]), abs=1e-6)
    (con,) = explain["constraints"]
    assert con["metric"] == "sram_bytes" and con["limit"] == 24 * 1024 and con["value"] <= con["limit"]
    breaking_gain = any(r["accuracy_delta"] > 0 and "sram_bytes" in r["violates"] for r in explain["sensitivity"])
    assert con["binding"] == breaking_gain


def test_per_layer_view_counts_every_mac_and_the_measured_run(out, assets):
    view = load_layer_view(out)
    spec = SpaceSpec.from_dict(load_meta(assets / "supernet")["space"])
    arch = Arch.parse(json.loads((out / "report.json").read_text())["arch"])
    assert sum(r.macs for r in view.layers) == macs(spec, arch)
    assert view.board == "mps2-an500" and view.unit == "instructions"
    assert all(r.measured is not None and r.measured > 0 for r in view.layers)
    assert max(r.live_bytes for r in view.layers) <= view.arena_bytes
    confusion = np.array(json.loads((out / "report.json").read_text())["accuracy"]["int8_confusion"])
    report = json.loads((out / "report.json").read_text())
    assert confusion.trace() / confusion.sum() == pytest.approx(report["accuracy"]["int8"])


def test_report_command_rewrites_the_page_for_an_earlier_output(out):
    (out / "report.html").unlink()
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and "report.html" in result.output
    assert (out / "report" / "arena.svg").is_file() and (out / "report" / "layers.png").is_file()


def test_report_command_refuses_a_folder_without_edgenas_output(tmp_path):
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "holds no edgenas output" in " ".join(result.output.split())


def test_report_for_a_compiled_artifact_and_for_a_search_folder(out, tmp_path):
    artifact = tmp_path / "artifact"
    shutil.copytree(out, artifact)
    (artifact / "report.json").unlink()  # what `edgenas compile` + `run` leave: memory.json and the model
    page = CliRunner().invoke(app, ["report", str(artifact)])
    assert page.exit_code == 0, page.output
    text = (artifact / "report.html").read_text()
    assert "edgenas compile" in text and "instructions/MAC" in text and 'data-key="layers.arena_bytes"' in text
    search = CliRunner().invoke(app, ["report", str(artifact / "search")])
    assert search.exit_code == 0, search.output
    text = (artifact / "search" / "report.html").read_text()
    summary = json.loads((artifact / "search" / "search.json").read_text())
    assert summary["arch"] in text and "generation" in (artifact / "search" / "report" / "history.svg").read_text()


def test_report_for_an_edgenas_search_output_explains_its_answer(assets, tmp_path):
    out = tmp_path / "s"
    searched = CliRunner().invoke(app, [
        "search", "--supernet", str(assets / "supernet"), "--predictor", str(assets / "predictor"),
        "--target", "cortex-m7", "--constraint", "ram=24KB", "--budget", "40", "--out", str(out), "--quiet"])
    assert searched.exit_code == 0, searched.output
    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text()
    summary = json.loads((out / "search.json").read_text())
    assert "Why this subnet" in text and summary["arch"] in text
    assert (out / "report" / "tradeoff-sram_bytes.svg").is_file()


def test_page_says_why_a_run_was_not_verified_and_shows_small_latencies(out, tmp_path):
    """A phone without adb: the page gives the skip's reason, and a latency in ms keeps its decimals."""
    copy = tmp_path / "phone"
    shutil.copytree(out, copy)
    data = json.loads((copy / "report.json").read_text())
    data["verified_bit_exact"] = False
    data["verification"] = {"status": "skipped", "detail": "no adb device is attached"}
    data["measured"] = {**data["measured"], "latency_median": 0.136, "latency_unit": "ms"}
    (copy / "report.json").write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["report", str(copy)])
    assert result.exit_code == 0, result.output
    page = (copy / "report.html").read_text()
    assert "NOT verified on the board (no adb device is attached)" in page
    assert ">0.136<" in page
