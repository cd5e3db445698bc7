"""Choosing a pool from ``--workers`` and ``--ray-address``, and reaching the Ray cluster.

``--workers N`` alone starts a local Ray cluster of N CPUs for the run, whose workers run at the
command's own priority (Ray's default would nice them by 15, so that anything else on the machine,
even a job the user niced, slowed them down, and so would Ray's own daemons and the driver:
measured, each task +16 % with two workers on two cores where plain processes take +8 %);
``--ray-address auto``
joins the cluster ``ray start`` runs on this machine, ``--ray-address HOST:PORT`` (or
``ray://HOST:PORT``) a remote one. Without Ray installed, a local run falls back to the serial
pool with a hint, while joining a cluster is an error: there is nothing to fall back to.
"""

from __future__ import annotations

import importlib.util
import math
import socket

from ..errors import UsageError
from .errors import ClusterError
from .ray_pool import RayPool
from .serial import SerialPool

INSTALL_HINT = 'pip install "edgenas[ray]"'
LOCAL_CLUSTER_CONFIG = {"worker_niceness": 0}
"""Ray settings of a local cluster: workers keep the niceness of the command (``nice -n 10 edgenas
...`` still makes them yield), instead of Ray's +15."""


def ray_available() -> bool:
    """Whether Ray can be imported (it is an optional extra)."""
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a stubbed-out module (sys.modules["ray"] = None) says ValueError
        return False


def parse_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a ``HOST:PORT`` or ``ray://HOST:PORT`` address, None for ``auto``.

    Raises:
        UsageError: anything else.
    """
    if address == "auto":
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--ray-address {address!r} is not auto or HOST:PORT",
                         hint="e.g. --ray-address auto (the cluster `ray start --head` runs here) or 10.0.0.5:6379")
    return host, int(port)


def check_reachable(host: str, port: int, timeout_s: float = 5.0) -> None:
    """Fail fast on an address nobody listens on (Ray itself would retry for a long time).

    Raises:
        ClusterError: no TCP connection within ``timeout_s``.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ClusterError(f"no Ray cluster answers at {host}:{port}: {exc.strerror or exc}",
                           hint="start one there with `ray start --head --port PORT`, or run locally with --workers N") from None


def open_pool(workers: int | None = None, ray_address: str | None = None, *, max_attempts: int = 3,
              task_timeout_s: float | None = None, resources: dict[str, float] | None = None) -> SerialPool | RayPool:
    """The pool for ``--workers``/``--ray-address``; close it (or use ``with``) when done.

    Args:
        workers: parallel workers (None: 1 locally, every CPU of a joined cluster).
        ray_address: ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT`` of a running cluster.
        task_timeout_s: a Ray worker's task running longer is stopped, its worker replaced and
            the task retried (``--task-timeout``); a serial run cannot stop its own task, so
            there it only adds a note.
        resources: custom Ray resources each worker holds (declared ``workers`` times on a local
            cluster), e.g. ``{"board:mps2-an500": 1}``.

    Raises:
        UsageError: ``workers`` below 1, a timeout that is not a positive number, a malformed
            address, or an address without Ray installed.
        ClusterError: the cluster cannot be reached or started.
    """
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: need at least 1", hint="--workers 1 runs serially, without Ray")
    if task_timeout_s is not None and not (math.isfinite(task_timeout_s) and task_timeout_s > 0):
        raise UsageError(f"--task-timeout {task_timeout_s}: must be a positive number of seconds")
    target = parse_address(ray_address) if ray_address else None
    unstoppable = ("--task-timeout applies to Ray workers only: this serial run cannot stop a task"
                   if task_timeout_s is not None else "")
    if not ray_available():
        if ray_address:
            raise UsageError(f"--ray-address {ray_address} needs Ray, which is not installed", hint=INSTALL_HINT)
        note = f"Ray is not installed: running serially ({INSTALL_HINT} to use {workers} workers)" if (workers or 1) > 1 else ""
        return SerialPool(max_attempts=max_attempts, note="; ".join(n for n in (note, unstoppable) if n))
    if not ray_address and (workers or 1) == 1:
        return SerialPool(max_attempts=max_attempts, note=unstoppable)
    if target is not None:
        check_reachable(*target)
    import ray

    if ray.is_initialized():  # a caller (a test, a notebook) already connected: use that cluster
        n = workers or int(ray.cluster_resources().get("CPU", 1))
        return RayPool(n, max_attempts=max_attempts, task_timeout_s=task_timeout_s, note=f"{n} Ray workers")
    common = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if ray_address:
            ray.init(address=ray_address, **common)
        else:
            ray.init(num_cpus=workers, resources={k: v * workers for k, v in (resources or {}).items()} or None,
                     _system_config=dict(LOCAL_CLUSTER_CONFIG), **common)  # a copy: Ray adds its own keys
    except ConnectionError as exc:
        raise ClusterError(f"cannot join the Ray cluster at {ray_address}: {exc}",
                           hint="start one with `ray start --head`, or drop --ray-address to run locally") from None
    n = workers or int(ray.cluster_resources().get("CPU", 1))
    where = f"the Ray cluster at {ray_address}" if ray_address else "a local Ray cluster"
    return RayPool(n, max_attempts=max_attempts, task_timeout_s=task_timeout_s, shutdown=True,
                   note=f"{n} workers on {where}")
