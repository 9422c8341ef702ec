"""What the benchmark scripts share: the harness folder, Storefront running, wrk's req/s.

``harness_folder()`` is the shared benchmark harness named by ``BENCH_HARNESS`` (the
folder holding its ``run`` script); the scripts that drive it exit with a message when
it is unset or wrong, rather than guess a path on one machine.

``running_storefront(env)`` starts tests/benchmarks/start on a free port in a process
group of its own, waits until /health answers (exits with a message if it never does),
and on the way out stops the whole group: SIGTERM, up to 15 s to finish, then SIGKILL.
The scripts import it as ``from _harness import ...``: a script's own folder is the
first entry of ``sys.path``, however it is invoked.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
_REQUESTS_PER_SECOND = re.compile(r"Requests/sec:\s+([\d.]+)")


def harness_folder() -> Path:
    """The benchmark harness folder from ``BENCH_HARNESS``, or exit saying how to set it."""
    folder = os.environ.get("BENCH_HARNESS", "")
    if not folder:
        sys.exit("BENCH_HARNESS is not set: name the benchmark harness folder (the one with `run`)")
    path = Path(folder).expanduser().resolve()
    if not (path / "run").is_file():
        sys.exit(f"BENCH_HARNESS={folder} has no `run` script: is it the harness folder?")
    return path


def free_port() -> int:
    """A TCP port nothing listens on right now on 127.0.0.1 (the kernel picked it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Storefront:
    """A running server: its port, and the pid of its process (the group's leader)."""

    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _wait_for_health(server: subprocess.Popen[bytes], url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"Storefront exited with code {server.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"Storefront did not answer {url} within {STARTUP_SECONDS:.0f} s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there after STOP_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@contextlib.contextmanager
def running_storefront(
    env: Mapping[str, str], *, stderr: int | None = None
) -> Iterator[Storefront]:
    """Storefront (tests/benchmarks/start) on a free port, with ``env`` and PORT set.

    Its stdout is discarded; ``stderr`` is passed to Popen (None: inherited).
    """
    port = free_port()
    server = subprocess.Popen(
        [str(HERE / "start")],
        env={**env, "PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        running = Storefront(port=port, pid=server.pid)
        _wait_for_health(server, running.url + "/health", time.monotonic() + STARTUP_SECONDS)
        yield running
    finally:
        _stop(server)


def requests_per_second(wrk_stdout: str) -> float | None:
    """The ``Requests/sec`` line of wrk's report (None when wrk printed none)."""
    found = _REQUESTS_PER_SECOND.search(wrk_stdout)
    return float(found.group(1)) if found else None
