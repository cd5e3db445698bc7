"""Which bundled supernet a search starts from: the one trained on the very data, else the one of
the data's kind (keyword audio or images) to adapt, keeping that supernet's space."""

from dataclasses import replace

import pytest

from edgenas.data import make_synthetic
from edgenas.extract.adapt import AdaptPlan, adapt, work_folder
from edgenas.supernet import bundled, load_supernet


@pytest.fixture
def bundles(assets, monkeypatch):
    """The real image bundle beside the tiny test supernet standing in for the audio one."""
    table = {"fashion-mnist": bundled.BUNDLED_SUPERNETS["fashion-mnist"], "kws": assets / "supernet"}
    monkeypatch.setattr(bundled, "BUNDLED_SUPERNETS", table)
    return table


def _keyword_folder(root):
    (root / "yes").mkdir(parents=True)
    (root / "yes" / "0.wav").write_bytes(b"")
    return root


def test_the_bundle_trained_on_the_data_is_used_as_it_is(bundles):
    assert bundled.bundle_for(make_synthetic(seed=0)) == (bundles["kws"], True)  # same content
    assert bundled.bundle_trained_on("fashion-mnist") == bundles["fashion-mnist"]
    assert bundled.bundle_trained_on("no-such-data") is None


def test_other_data_adapts_the_bundle_of_its_kind(bundles, tmp_path):
    other = make_synthetic(seed=5)
    assert bundled.bundle_for(other) == (bundles["fashion-mnist"], False)
    keywords = replace(other, source=str(_keyword_folder(tmp_path / "words")))
    assert bundled.bundle_for(keywords) == (bundles["kws"], False)


def test_keyword_data_falls_back_to_the_image_bundle_when_no_audio_one_is_installed(bundles, tmp_path, monkeypatch):
    monkeypatch.setitem(bundled.BUNDLED_SUPERNETS, "kws", tmp_path / "missing")
    keywords = replace(make_synthetic(seed=5), source=str(_keyword_folder(tmp_path / "words")))
    assert bundled.bundle_for(keywords) == (bundles["fashion-mnist"], False)


def test_adapting_keeps_the_source_supernets_space_and_caches_per_space(assets, tmp_path):
    data = make_synthetic(seed=5)
    plan = AdaptPlan(batch_size=32, samples=12, calib_images=32).scaled(8, 12)
    adapted = adapt(data, tmp_path, plan, source=assets / "supernet")
    assert adapted.supernet_dir.parent == work_folder(tmp_path, data, "tiny-test")
    assert adapted.supernet_dir.parent.name.endswith("-tiny-test")
    assert load_supernet(adapted.supernet_dir)[0].spec.name == "tiny-test"
    assert adapted.record["source"] == {"dataset": "synthetic", "space": "tiny-test"}
    assert adapted.record["predictor"]["warm_start"] is None  # no bundled predictor for that source


def test_a_bundle_trained_from_a_path_matches_other_data_there_only_by_content(bundles, tmp_path, monkeypatch):
    words = str(_keyword_folder(tmp_path / "words"))
    meta = {"data_source": words, "data_fingerprint": "0" * 16}
    monkeypatch.setattr("edgenas.supernet.checkpoint.load_meta", lambda path: meta if path == bundles["kws"] else {})
    assert bundled.bundle_trained_on(words) is None  # a path is never taken on trust
    keywords = replace(make_synthetic(seed=5), source=words)
    assert bundled.bundle_for(keywords) == (bundles["kws"], False)  # the audio bundle, adapted
    meta["data_fingerprint"] = keywords.fingerprint
    assert bundled.bundle_for(keywords) == (bundles["kws"], True)
