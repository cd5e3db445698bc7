"""Children die with edgenas: QEMU started by ``qemu_process`` in a parent process that is then
killed (``kill -9``) or terminated (SIGTERM, through the CLI's error handler); scratch folders a
killed parent left are removed on the next start."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Collection
from pathlib import Path

import pytest

from edgenas.children import child_process, stop_child
from edgenas.scratch import remove_stale_scratch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")

PARENT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import typer
    from edgenas.boards import BoardRegistry
    from edgenas.cli.common import handle_errors
    from edgenas.scratch import scratch_dir
    from edgenas.targets.cortex_m.qemu import qemu_process

    @handle_errors
    def main():
        board = BoardRegistry(entry_points=False, user_dir=None).get("mps2-an500")
        with scratch_dir("test", root=Path(sys.argv[1])) as tmp:
            elf = tmp / "firmware.elf"
            elf.write_bytes(b"")  # QEMU waits for the serial client before it loads the kernel
            with qemu_process(elf, board) as q:
                print(q.process.pid, tmp, flush=True)
                time.sleep(60)

    try:
        main()
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
""")


def _gone(pid: int) -> bool:
    """No such process, or a zombie (dead, waiting for whoever adopted it to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] in ("Z", "X")


def _wait_gone(pid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.05)
    return _gone(pid)


def _start_parent(root: Path) -> tuple[subprocess.Popen, int, Path]:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(root)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    line = parent.stdout.readline()
    if not line:
        parent.kill()
        pytest.fail(f"parent did not start QEMU: {parent.communicate()[1][-2000:]}")
    pid, folder = line.split()
    assert not _gone(int(pid))
    return parent, int(pid), Path(folder)


@pytest.fixture
def root(tmp_path):
    if shutil.which("qemu-system-arm") is None:
        pytest.skip("qemu-system-arm not installed")
    return tmp_path


@pytest.mark.board
def test_kill_9_of_the_parent_kills_qemu_and_the_next_start_removes_its_scratch_folder(root):
    parent, qemu, folder = _start_parent(root)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=5)
    assert _wait_gone(qemu), "QEMU outlived its killed parent"
    assert folder.is_dir() and folder.name.startswith(f"edgenas-{parent.pid}-test-")  # no clean-up ran
    keep = root / f"edgenas-{os.getpid()}-live"  # a live process's folder
    keep.mkdir()
    (root / "edgenas-profile-old").mkdir()  # not ours to judge: no pid in the name
    assert remove_stale_scratch(root) == [folder]
    assert not folder.exists() and keep.is_dir() and (root / "edgenas-profile-old").is_dir()


@pytest.mark.board
def test_sigterm_to_the_cli_stops_qemu_and_removes_its_scratch_folder(root):
    parent, qemu, folder = _start_parent(root)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=8) == 143
    assert "terminated" in parent.stderr.read()
    assert _gone(qemu), "QEMU outlived the terminated CLI"
    assert not folder.exists()


def test_stopping_a_child_stops_its_whole_process_group(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    with child_process(["sh", "-c", f"sleep 60 & echo $! > {pid_file}; wait"]) as proc:
        deadline = time.monotonic() + 5
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        grandchild = int(pid_file.read_text())
    assert proc.returncode is not None and _wait_gone(grandchild, 3.0)
    stop_child(proc)  # stopping twice is harmless


def _cli(args: list[str], tmp: Path) -> subprocess.Popen:
    """``edgenas ARGS`` as its own process, with its temp directory in ``tmp``."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    return subprocess.Popen([sys.executable, "-c", "from edgenas.cli import app; app()", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_qemu(parent: subprocess.Popen, seen: Collection[int] = (), timeout_s: float = 150.0) -> int:
    """The pid of a live QEMU that ``parent`` starts (after building its firmware), none of ``seen``.

    A QEMU that has exited stays a zombie child until ``parent`` reaps it; a stopped parent reaps
    nothing, so a zombie must not count as a batch in flight."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if parent.poll() is not None:
            pytest.fail(f"edgenas ended before starting QEMU: {parent.communicate()[1][-2000:]}")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            comm, _, rest = text.partition(" (")[2].rpartition(") ")
            state, ppid = rest.split()[:2]
            pid = int(stat.parent.name)
            if comm.startswith("qemu-system") and int(ppid) == parent.pid and state not in "ZX" and pid not in seen:
                return pid
        time.sleep(0.1)
    parent.kill()
    pytest.fail("edgenas started no QEMU in time")


@pytest.mark.board
@pytest.mark.timeout(300)
def test_kill_9_of_edgenas_profile_leaves_no_qemu_and_the_next_command_removes_its_scratch(root):
    """The issue's case itself: `edgenas profile` killed outright while QEMU measures a batch."""
    parent = _cli(["profile", "--target", "cortex-m7", "--table", str(root / "t.json"), "--budget", "2",
                   "--quiet"], root)
    seen: set[int] = set()
    for _ in range(20):  # a short batch may end (and its scratch go) between seeing QEMU and stopping edgenas
        qemu = _wait_for_qemu(parent, seen)
        seen.add(qemu)
        parent.send_signal(signal.SIGSTOP)  # frozen: it can neither clean up nor start the next batch
        left = list(root.glob(f"edgenas-{parent.pid}-profile-*"))
        if left:
            break
        parent.send_signal(signal.SIGCONT)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=5)
    assert _wait_gone(qemu), "QEMU outlived the killed `edgenas profile`"
    assert left and all(p.is_dir() for p in left)  # nothing could clean up
    boards = _cli(["boards"], root)
    assert boards.wait(timeout=120) == 0
    assert not any(p.exists() for p in left), "the next command did not remove the killed run's scratch"


@pytest.mark.board
@pytest.mark.timeout(300)
def test_sigterm_to_edgenas_run_stops_qemu(root):
    """`edgenas run` terminated while its firmware runs in QEMU: exit 143, no emulator left."""
    from edgenas.deploy import write_tflite

    from tests.deploy.test_tflite_ops import make_case

    model = root / "dense.tflite"
    model.write_bytes(write_tflite(make_case("fully_connected", 0)))
    compiled = _cli(["compile", str(model), "--out", str(root / "art")], root)
    assert compiled.wait(timeout=120) == 0, compiled.stderr.read()
    parent = _cli(["run", str(root / "art"), "--target", "cortex-m7", "--inputs", "50"], root)
    qemu = _wait_for_qemu(parent)
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 143
    assert _wait_gone(qemu), "QEMU outlived the terminated `edgenas run`"
    assert not list(root.glob(f"edgenas-{parent.pid}-*"))
