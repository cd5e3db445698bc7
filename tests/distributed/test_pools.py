"""The serial and Ray pools: same results in task order, bounded retries, dead and hung workers,
retired boards, clear errors for bad settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgenas.distributed import (ClusterError, Done, Job, RayPool, SerialPool, Task, TasksFailed, in_task_order,
                                 open_pool, parse_address, values_in_order)
from edgenas.errors import DeviceError, UsageError

from . import jobs

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[2]


def _tasks(n: int, payload=lambda i: i) -> list[Task]:
    return [Task(i, payload(i), f"x={i}") for i in range(n)]


def test_serial_pool_runs_in_id_order_and_sets_up_once():
    pool = SerialPool()
    shuffled = [Task(i, i) for i in (3, 0, 2, 1)]
    done = list(pool.map(Job(jobs.add_offset, jobs.offset_setup, (100,)), shuffled))
    assert [d.task_id for d in done] == [0, 1, 2, 3]
    assert [d.value for d in done] == [100, 101, 102, 103]
    with pytest.raises(ValueError, match="used twice"):
        list(pool.map(Job(jobs.square), [Task(1, 1), Task(1, 2)]))


def test_serial_pool_retries_a_flaky_task_and_reports_one_that_always_fails(tmp_path):
    done = list(SerialPool().map(Job(jobs.fail_once), _tasks(3, lambda i: (i, str(tmp_path)))))
    assert [(d.value, d.attempts) for d in done] == [(0, 2), (1, 2), (2, 2)]
    got = []
    with pytest.raises(TasksFailed) as err:
        for d in SerialPool(max_attempts=2).map(Job(jobs.always_fail), _tasks(3)):
            got.append(d)
    assert got == [] and [f.task.id for f in err.value.failures] == [0, 1, 2]
    assert "3 of 3 tasks failed" in str(err.value) and "bad input 0" in str(err.value) and err.value.hint


class _ShuffledPool:
    """Runs tasks here and yields them in the order 2, 0, 3, 1: a parallel pool's arrival order."""

    workers, note = 2, ""

    def __init__(self) -> None:
        self.yielded: list[int] = []

    def map(self, job, tasks, *, watch=None):  # noqa: ANN001
        state = job.setup(*job.context)
        done = {t.id: Done(t.id, job.run(state, t.payload), "w", 1, 0.0) for t in tasks}
        for i in (2, 0, 3, 1):
            self.yielded.append(i)
            yield done[i]


def test_values_in_order_yields_each_value_as_soon_as_every_earlier_one_is_done():
    pool = _ShuffledPool()
    got = []
    for value in values_in_order(pool, Job(jobs.square), [10, 11, 12, 13]):
        got.append((value, list(pool.yielded)))
    # 0 waits for nothing once it arrives; 1 and 2 go together when 1 arrives; 3 arrived before 1
    assert got == [(100, [2, 0]), (121, [2, 0, 3, 1]), (144, [2, 0, 3, 1]), (169, [2, 0, 3, 1])]
    assert list(values_in_order(SerialPool(), Job(jobs.square), [])) == []


@pytest.mark.slow
def test_ray_pool_keeps_a_jobs_workers_between_calls_and_stops_them_on_close(ray_cluster, tmp_path):
    def setups() -> int:
        return len(list(tmp_path.glob("setup-*")))

    job = Job(jobs.square, jobs.counting_setup, (str(tmp_path),))
    with RayPool(2) as pool:
        assert list(values_in_order(pool, job, range(4))) == [0, 1, 4, 9]
        assert list(values_in_order(pool, job, range(4, 8))) == [16, 25, 36, 49]
        assert setups() == 2  # one per worker, not one per call: a search maps batch after batch
        other = Job(jobs.square, jobs.counting_setup, (str(tmp_path),))  # equal, but another job
        assert list(values_in_order(pool, other, range(3))) == [0, 1, 4]
        assert setups() == 4
    for _ in range(100):  # the kept workers give their CPUs back once closed
        if ray_cluster.available_resources().get("CPU", 0) == 2:
            break
        time.sleep(0.1)
    assert ray_cluster.available_resources().get("CPU", 0) == 2


@pytest.mark.slow
def test_ray_pool_gives_the_serial_results_in_task_order(ray_cluster):
    job = Job(jobs.add_offset, jobs.offset_setup, (7,))
    serial = list(SerialPool().map(job, _tasks(9)))
    seen = []
    parallel = list(RayPool(2).map(job, _tasks(9), watch=seen.append))
    assert [(d.task_id, d.value) for d in in_task_order(parallel)] == [(d.task_id, d.value) for d in serial]
    assert {d.worker.split()[0] for d in parallel} == {"w0", "w1"}  # both workers took tasks
    assert any(sum(1 for label in s.values() if label) == 2 for s in seen)  # progress saw both busy at once
    assert seen[-1] == {"w0": "", "w1": ""}


@pytest.mark.slow
def test_ray_pool_retries_a_task_that_raises_or_kills_its_worker_and_reports_a_hopeless_one(ray_cluster, tmp_path):
    flaky = list(RayPool(2).map(Job(jobs.fail_once), _tasks(4, lambda i: (i, str(tmp_path)))))
    assert sorted((d.value, d.attempts) for d in flaky) == [(0, 2), (1, 2), (2, 2), (3, 2)]
    dying = list(RayPool(2).map(Job(jobs.die_once), _tasks(3, lambda i: (i, str(tmp_path)))))
    assert sorted((d.value, d.attempts) for d in dying) == [(0, 2), (1, 2), (2, 2)]
    with pytest.raises(TasksFailed) as err:
        list(RayPool(2, max_attempts=2).map(Job(jobs.always_fail), _tasks(2)))
    assert [(f.task.id, f.attempts) for f in err.value.failures] == [(0, 2), (1, 2)]


@pytest.mark.slow
def test_ray_pool_stops_a_hung_task_and_retries_it(ray_cluster, tmp_path):
    done = list(RayPool(2, task_timeout_s=15).map(Job(jobs.hang_once), _tasks(2, lambda i: (i, str(tmp_path)))))
    assert sorted((d.value, d.attempts) for d in done) == [(0, 2), (1, 2)]


@pytest.mark.slow
def test_a_tasks_timeout_does_not_count_its_workers_set_up(ray_cluster):
    # set-up takes longer than the timeout: counted from submission, every attempt would time out
    done = list(RayPool(2, task_timeout_s=2, max_attempts=1).map(Job(jobs.add_offset, jobs.slow_setup, (4,)),
                                                                  _tasks(3)))
    assert sorted((d.value, d.attempts) for d in done) == [(4, 1), (5, 1), (6, 1)]


@pytest.mark.slow
def test_a_board_that_stops_answering_leaves_the_pool_and_its_task_goes_to_another(ray_cluster, tmp_path):
    job = Job(jobs.on_board, jobs.board_setup, (str(tmp_path),), retire_on=(DeviceError,))
    done = list(RayPool(2).map(job, _tasks(4)))
    assert sorted(d.value for d in done) == ["0", "1", "2", "3"]
    assert len({d.worker.split()[0] for d in done}) == 1  # all on the board that answers
    assert all(d.attempts == 1 for d in done)  # a broken board does not use up the task's attempts


@pytest.mark.slow
def test_a_worker_whose_setup_fails_is_a_clear_error(ray_cluster):
    with pytest.raises(ClusterError, match="could not start"):
        list(RayPool(2).map(Job(jobs.square, jobs.broken_setup), _tasks(2)))


def test_bad_settings_are_refused_with_hints(monkeypatch):
    with pytest.raises(UsageError, match="--workers 0") as err:
        open_pool(0)
    assert err.value.hint
    for bad in ("localhost", "host:port", "10.0.0.1:70000", ""):
        with pytest.raises(UsageError):
            parse_address(bad)
    assert parse_address("auto") is None and parse_address("ray://10.0.0.5:10001") == ("10.0.0.5", 10001)
    with pytest.raises(ClusterError, match="no Ray cluster answers at 127.0.0.1:9") as err:
        open_pool(2, "127.0.0.1:9")  # discard port: nobody listens
    assert err.value.exit_code == 3 and "ray start" in err.value.hint


def test_a_task_timeout_must_be_positive_and_a_serial_run_says_it_cannot_apply_it(monkeypatch):
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError, match="--task-timeout"):
            open_pool(2, task_timeout_s=bad)
    pool = open_pool(1, task_timeout_s=30.0)
    assert isinstance(pool, SerialPool) and "Ray workers only" in pool.note
    assert open_pool(1).note == ""
    monkeypatch.setitem(sys.modules, "ray", None)
    note = open_pool(2, task_timeout_s=30.0).note
    assert "edgenas[ray]" in note and "Ray workers only" in note


def test_every_command_with_workers_hands_task_timeout_to_its_pool(monkeypatch, tmp_path):
    """`--task-timeout` reaches the pool of search, predictor collect, profile and extract."""
    from typer.testing import CliRunner

    import edgenas.distributed as distributed
    from edgenas.cli import app

    seen = []

    def fake_open_pool(workers=None, ray_address=None, **kwargs):
        seen.append(kwargs.get("task_timeout_s"))
        raise UsageError("stop here")

    monkeypatch.setattr(distributed, "open_pool", fake_open_pool)
    runs = (["search", "--target", "cortex-m7", "--out", str(tmp_path / "s"), "--budget", "2"],
            ["predictor", "collect", "--samples", str(tmp_path / "p"), "--count", "2"],
            ["profile", "--target", "cortex-m7", "--table", str(tmp_path / "t.json")],
            ["extract", "--target", "cortex-m7", "--ram", "64KB", "--out", str(tmp_path / "x"), "--fitness",
             "measured", "--workers", "2"])
    for args in runs:
        result = CliRunner().invoke(app, [*args, "--task-timeout", "45", "--quiet"])
        assert "stop here" in result.output + (result.stderr or ""), (args, result.output)
    assert seen == [45.0] * len(runs)


def test_without_ray_a_local_run_is_serial_with_a_hint_and_joining_a_cluster_is_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as when it is not installed
    pool = open_pool(2)
    assert isinstance(pool, SerialPool) and "edgenas[ray]" in pool.note
    assert [d.value for d in pool.map(Job(jobs.square), _tasks(3))] == [0, 1, 4]
    with pytest.raises(UsageError, match="needs Ray") as err:
        open_pool(2, "auto")
    assert "edgenas[ray]" in err.value.hint


def test_a_local_clusters_workers_run_at_the_commands_niceness_not_rays_plus_15(tmp_path):
    """Started under `nice -n 4`, its workers run at 4 too (Ray alone would make them 19); a second
    cluster in the same process is started with the same settings (Ray adds keys to the dict it is given)."""
    pytest.importorskip("ray")
    script = ("from edgenas.distributed import Job, Task, cluster, open_pool\nfrom tests.distributed import jobs\n"
              "for _ in range(2):\n"
              "    with open_pool(2) as pool:\n"
              "        print(sorted(d.value for d in pool.map(Job(jobs.niceness), [Task(0, 0), Task(1, 1)])))\n"
              "print(cluster.LOCAL_CLUSTER_CONFIG)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run(["nice", "-n", "4", sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-3:] == [str([min(os.nice(0) + 4, 19)] * 2)] * 2 + ["{'worker_niceness': 0}"]
