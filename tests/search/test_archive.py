"""The search's pick against the predictor's measured samples (edgenas.search.archive)."""

from edgenas.cost.model import Metrics
from edgenas.estimate.dataset import AccuracySample
from edgenas.search.archive import Archive, load_archive, select
from edgenas.space import Arch

PICK = Arch.parse("r24|w0.5|k3e3,k3e3|k3e3,k3e3")
BIG = Arch.parse("r32|w1|k7e6,k7e6|k7e6,k7e6")
MID = Arch.parse("r28|w1|k5e4,k5e4|k5e4,k5e4")
HUGE = Arch.parse("r32|w1|k7e6,k7e6,k7e6|k7e6,k7e6,k7e6")


def _metrics(arena: int) -> Metrics:
    return Metrics(macs=1, params=1, model_flash_bytes=1, arena_bytes=arena, layers=1, flash_bytes=1, sram_bytes=arena)


def _archive(*pairs) -> Archive:
    return Archive(tuple(AccuracySample(a, acc, 500, 5000) for a, acc in pairs), 500, 5000)


def _select(archive, measured: float, fits=lambda a: a != HUGE, confirmed=None, note="3 measured samples"):
    calls = []

    def measure(arch, calib, val):
        calls.append((arch, calib, val))
        return measured

    chosen = select(PICK, _metrics(10), archive, note, fits, confirmed or (lambda a: _metrics(20)), measure)
    return chosen, calls


def test_a_feasible_sample_measured_better_replaces_the_pick():
    chosen, calls = _select(_archive((BIG, 0.93), (MID, 0.92), (HUGE, 0.99)), measured=0.91)
    assert chosen.source == "archive" and chosen.arch == BIG and chosen.metrics.arena_bytes == 20
    assert calls == [(PICK, 500, 5000)]  # the pick measured once, as the archive was
    assert chosen.archive_feasible == 2 and chosen.searched_measured == 0.91
    assert chosen.to_dict()["searched"] == str(PICK) and "93.00 %" in chosen.note


def test_the_pick_stays_when_it_measures_at_least_as_well():
    chosen, _ = _select(_archive((BIG, 0.93), (MID, 0.92)), measured=0.93)
    assert chosen.source == "search" and chosen.arch == PICK and chosen.metrics.arena_bytes == 10
    assert chosen.archive_best == BIG and chosen.archive_best_measured == 0.93


def test_nothing_is_measured_when_no_sample_fits_or_there_is_no_archive():
    chosen, calls = _select(_archive((HUGE, 0.99)), measured=0.5)
    assert chosen.source == "search" and calls == [] and "meets the budget" in chosen.note
    chosen, calls = _select(None, measured=0.5, note="no measured samples")
    assert chosen.source == "search" and calls == [] and chosen.note == "no measured samples"


def test_a_sample_the_compilers_arena_rejects_gives_way_to_the_next():
    chosen, _ = _select(_archive((BIG, 0.95), (MID, 0.94)), measured=0.90,
                        confirmed=lambda a: None if a == BIG else _metrics(30))
    assert chosen.arch == MID and chosen.metrics.arena_bytes == 30
    chosen, _ = _select(_archive((BIG, 0.95)), measured=0.90, confirmed=lambda a: None)
    assert chosen.source == "search" and "compiler's own arena" in chosen.note


def test_archive_is_used_only_for_the_supernet_it_measured(tmp_path):
    (tmp_path / "samples-0of1.jsonl").write_text(
        AccuracySample(BIG, 0.93, 500, 5000).to_json() + "\n" + AccuracySample(MID, 0.92, 500, 5000).to_json() + "\n")
    archive, note = load_archive(tmp_path, "abc", "abc")
    assert archive is not None and {s.arch for s in archive.samples} == {BIG, MID} and note == "2 measured samples"
    assert (archive.calib_images, archive.val_images) == (500, 5000)
    archive, note = load_archive(tmp_path, "abc", "def")
    assert archive is None and "another supernet" in note
    assert load_archive(tmp_path / "none", "abc", "abc")[0] is None


def test_samples_measured_two_ways_are_not_an_archive(tmp_path):
    (tmp_path / "samples-0of1.jsonl").write_text(
        AccuracySample(BIG, 0.93, 500, 5000).to_json() + "\n" + AccuracySample(MID, 0.92, 200, 5000).to_json() + "\n")
    archive, note = load_archive(tmp_path, "abc", "abc")
    assert archive is None and "one measurement setting" in note
