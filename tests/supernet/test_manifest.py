"""A training checkpoint is one unit: a crash at any step of a commit leaves the old or the new
checkpoint whole, and the resume starts at the right epoch with the same weights."""

import json

import pytest

from edgenas.data import make_synthetic
from edgenas.errors import CheckpointError
from edgenas.space import get_space
from edgenas.supernet import Phase, TrainConfig, load_supernet, train_supernet
from edgenas.supernet import manifest
from edgenas.supernet.checkpoint import load_meta, weights_sha256
from edgenas.supernet.manifest import (
    MANIFEST, META, RESUME_JSON, RESUME_TENSORS, ROLES, TEACHER, WEIGHTS, commit, publish, read_manifest, read_role,
)

PHASES = (Phase("full", 2, 0.1), Phase("kernel", 1, 0.03, 2))
EPOCHS = [("full", 0), ("full", 1), ("kernel", 0)]
CONFIG = TrainConfig(phases=PHASES, batch_size=16, seed=3, max_steps_per_epoch=1, threads=1, eval_images=16)
PLAIN = {WEIGHTS, META, TEACHER}


class Killed(BaseException):
    """A ``kill -9`` stand-in: no ``except Exception`` catches it."""


@pytest.fixture(scope="module")
def data():
    return make_synthetic(seed=0, n_train=64, n_val=16, n_test=16)


@pytest.fixture(scope="module")
def spec():
    return get_space("tiny-test")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data, spec):
    out = tmp_path_factory.mktemp("ref") / "run"
    train_supernet(data, spec, out, CONFIG)
    return out


class FsSteps:
    """Counts the folder changes of commits (writes, renames, links, removals); can crash at step ``k``."""

    def __init__(self, monkeypatch, crash_at: int | None = None) -> None:
        self.steps: list[tuple[str, str]] = []
        self.crash_at = crash_at
        for name in ("_write", "_rename", "_link", "_remove"):
            monkeypatch.setattr(manifest, name, self._counted(name, getattr(manifest, name)))

    def _counted(self, kind, real):
        def step(*args):
            target = (args[0] if kind == "_write" else args[-1]).name
            if len(self.steps) == self.crash_at:
                raise Killed(f"killed before {kind} {target}")
            self.steps.append((kind, target))
            return real(*args)
        return step

    def commits(self) -> int:
        """Manifests renamed into place so far: the commit points passed."""
        return sum(1 for kind, name in self.steps if kind == "_rename" and name == MANIFEST)


def _epochs_run(records):
    return [(r["phase"], r["epoch"]) for r in records]


# ---------------------------------------------------------------------------------- the manifest alone


def test_commit_names_files_with_hashes_and_leaves_other_files_alone(tmp_path):
    (tmp_path / "plan.json").write_text("{}")
    commit(tmp_path, {WEIGHTS: b"w1", META: b"{}"})
    commit(tmp_path, {WEIGHTS: b"w2", RESUME_JSON: b"{}"})
    assert read_role(tmp_path, WEIGHTS) == b"w2" and read_role(tmp_path, META) == b"{}"
    files = read_manifest(tmp_path).files
    assert set(files) == {WEIGHTS, META, RESUME_JSON}
    on_disk = {p.name for p in tmp_path.iterdir()}
    assert on_disk == {MANIFEST, "plan.json"} | {e.name for e in files.values()}  # the first weights file is gone
    commit(tmp_path, {RESUME_JSON: None})
    assert read_role(tmp_path, RESUME_JSON) is None
    publish(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {WEIGHTS, META, "plan.json"}
    assert (tmp_path / WEIGHTS).read_bytes() == b"w2"


def test_corrupt_or_missing_checkpoint_file_is_a_checkpoint_error(tmp_path):
    commit(tmp_path, {WEIGHTS: b"weights", META: b"{}"})
    path = tmp_path / read_manifest(tmp_path).files[WEIGHTS].name
    path.write_bytes(b"weightz")
    with pytest.raises(CheckpointError, match="corrupt") as err:
        weights_sha256(tmp_path)
    assert err.value.hint
    path.unlink()
    with pytest.raises(CheckpointError, match="missing"):
        read_role(tmp_path, WEIGHTS)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(CheckpointError, match="not a valid checkpoint manifest"):
        load_meta(tmp_path)


def test_a_reader_racing_a_commit_reads_the_new_checkpoint(tmp_path, monkeypatch):
    commit(tmp_path, {WEIGHTS: b"old"})
    stale = read_manifest(tmp_path)
    commit(tmp_path, {WEIGHTS: b"new"})  # removes the file ``stale`` names
    answers = [stale]
    real = manifest.read_manifest
    monkeypatch.setattr(manifest, "read_manifest", lambda d: answers.pop() if answers else real(d))
    assert read_role(tmp_path, WEIGHTS) == b"new"


@pytest.mark.parametrize("publishing", [False, True])
@pytest.mark.slow
def test_a_crash_at_any_step_of_a_commit_leaves_the_old_or_the_new_checkpoint(tmp_path, monkeypatch, publishing):
    old = {WEIGHTS: b"w-old", META: b"m-old", RESUME_JSON: b"r-old", RESUME_TENSORS: b"t-old"}
    new = {WEIGHTS: b"w-new", META: b"m-new", RESUME_JSON: None, RESUME_TENSORS: None, TEACHER: b"teacher"}
    want_new = {WEIGHTS: b"w-new", META: b"m-new", TEACHER: b"teacher"}

    def change(directory):
        commit(directory, new)
        if publishing:
            publish(directory)

    commit(tmp_path / "count", old)
    total = FsSteps(monkeypatch)
    change(tmp_path / "count")
    monkeypatch.undo()
    for k in range(len(total.steps) + 1):
        directory = tmp_path / str(k)
        commit(directory, old)
        steps = FsSteps(monkeypatch, crash_at=k)
        if k < len(total.steps):
            with pytest.raises(Killed):
                change(directory)
        else:
            change(directory)
        monkeypatch.undo()
        seen = {role: read_role(directory, role) for role in ROLES}
        seen = {role: data for role, data in seen.items() if data is not None}
        assert seen == (want_new if steps.commits() else old), f"killed before step {k}: {total.steps[k:k + 1]}"
        commit(directory, {META: b"m-next"})  # the next commit removes whatever the crash left behind
        named = {e.name for e in read_manifest(directory).files.values()}
        assert {p.name for p in directory.iterdir()} == named | {MANIFEST}


# ---------------------------------------------------------------------------------- training


@pytest.mark.slow  # about 45 kills and resumes of a tiny run: 10-15 s on 2 cores
def test_training_killed_at_any_step_of_any_commit_resumes_at_the_right_epoch(tmp_path, monkeypatch, data, spec,
                                                                               reference):
    counted = FsSteps(monkeypatch)
    train_supernet(data, spec, tmp_path / "count", CONFIG)
    monkeypatch.undo()
    n_steps = len(counted.steps)
    assert counted.commits() == len(EPOCHS) + 1  # one per epoch, then the finished checkpoint
    for k in range(n_steps):
        out = tmp_path / f"k{k}"
        crash = FsSteps(monkeypatch, crash_at=k)
        with pytest.raises(Killed):
            train_supernet(data, spec, out, CONFIG)
        monkeypatch.undo()
        records = []
        train_supernet(data, spec, out, CONFIG, on_epoch=records.append)
        done = min(crash.commits(), len(EPOCHS))  # epochs whose checkpoint was committed before the kill
        where = f"killed before step {k} {counted.steps[k]}"
        assert _epochs_run(records) == EPOCHS[done:], where
        assert {p.name for p in out.iterdir()} == PLAIN, where
        for role in PLAIN - {META}:
            assert (out / role).read_bytes() == (reference / role).read_bytes(), where
        assert [(r["phase"], r["epoch"]) for r in load_meta(out)["log"]] == EPOCHS, where


def _to_legacy_layout(directory):
    """Rewrite a checkpoint in the layout of runs written before the manifest: every file under its plain name."""
    files = read_manifest(directory).files
    for role, entry in files.items():
        (directory / role).write_bytes((directory / entry.name).read_bytes())
    for path in directory.iterdir():
        if path.name not in files:
            path.unlink()


@pytest.mark.parametrize("stopped_after", [0, 1])  # with momentum buffers; with the frozen teacher
@pytest.mark.slow
def test_a_run_checkpointed_before_the_manifest_resumes_exactly(tmp_path, data, spec, reference, stopped_after):
    out = tmp_path / "legacy"
    epochs = []

    def stop(record):
        epochs.append(record)
        if len(epochs) == stopped_after + 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(data, spec, out, CONFIG, on_epoch=stop)
    _to_legacy_layout(out)
    (out / "plan.json").write_text("{}")  # a user's file beside the checkpoint
    absent = TEACHER if stopped_after == 0 else RESUME_TENSORS
    assert {p.name for p in out.iterdir()} == set(ROLES) - {absent} | {"plan.json"}
    assert load_meta(out)["complete"] is False
    load_supernet(out)  # readers take the plain files as they always did
    records = []
    train_supernet(data, spec, out, CONFIG, on_epoch=records.append)
    assert _epochs_run(records) == EPOCHS[stopped_after + 1:]
    assert {p.name for p in out.iterdir()} == PLAIN | {"plan.json"}
    for role in PLAIN - {META}:
        assert (out / role).read_bytes() == (reference / role).read_bytes()


def test_an_unfinished_run_reads_through_its_manifest(tmp_path, data, spec):
    out = tmp_path / "run"

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_supernet(data, spec, out, CONFIG, on_epoch=stop)
    assert (out / MANIFEST).is_file() and not (out / WEIGHTS).exists()
    net, meta = load_supernet(out)
    assert meta["complete"] is False and len(meta["log"]) == 1
    assert json.loads(read_role(out, RESUME_JSON))["epoch"] == 1
