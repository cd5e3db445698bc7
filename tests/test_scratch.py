import os
import subprocess
import sys

from edgenas.scratch import remove_stale_scratch, scratch_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_scratch_folder_names_its_process_and_goes_with_the_block(tmp_path):
    with scratch_dir("build", root=tmp_path) as folder:
        assert folder.parent == tmp_path and folder.name.startswith(f"edgenas-{os.getpid()}-build-")
        (folder / "firmware.elf").write_bytes(b"x")
    assert not folder.exists()


def test_a_new_scratch_folder_first_removes_those_of_dead_processes(tmp_path):
    stale = tmp_path / f"edgenas-{_dead_pid()}-profile-abc"
    (stale / "batch0").mkdir(parents=True)
    live = tmp_path / f"edgenas-{os.getpid()}-profile-def"
    live.mkdir()
    other = tmp_path / "edgenas-profile-xyz"  # the old naming: no pid, left alone
    other.mkdir()
    with scratch_dir("profile", root=tmp_path):
        assert not stale.exists() and live.is_dir() and other.is_dir()
    assert remove_stale_scratch(tmp_path) == []
