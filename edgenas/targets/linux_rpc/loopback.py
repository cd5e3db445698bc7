"""A TVM RPC server on 127.0.0.1 for tests and for profiling the host through the RPC path.

It is TVM's own server loop (the one ``python -m tvm.exec.rpc_server`` runs), started in a
forked child of this process: a fresh interpreter would spend tens of seconds importing TVM on
a busy machine, a fork is ready at once.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from ...children import die_with_parent


def _serve(sock: socket.socket, port: int, parent_pid: int) -> None:  # pragma: no cover - runs in the child
    from tvm.rpc.server import _listen_loop

    die_with_parent(parent_pid)  # a killed edgenas must not leave its server listening

    _listen_loop(sock, port, "", None, None, None)


def _stop_children(pid: int) -> None:
    """Stop the per-session worker the server forks for each connection."""
    try:
        import psutil
    except ImportError:  # installed with TVM; without it the worker exits with its session
        return
    try:
        for child in psutil.Process(pid).children(recursive=True):
            child.kill()
    except psutil.Error:
        pass


@contextmanager
def loopback_server() -> Iterator[int]:
    """Yield the port of an RPC server listening on 127.0.0.1; stop it on exit."""
    import tvm.rpc.server  # noqa: F401  (import before forking, so the child need not)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    proc = multiprocessing.get_context("fork").Process(target=_serve, args=(sock, port, os.getpid()))
    proc.start()
    try:
        yield port
    finally:
        _stop_children(proc.pid)
        proc.terminate()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
        sock.close()
