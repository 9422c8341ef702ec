"""Real `storefront` processes for tests that need a server, not an ASGI client.

``start_storefront`` runs ``python -m entrypoints.cli ARGS`` in a process group of its
own; ``wait_until_healthy`` polls ``/health``; ``stop`` sends SIGTERM and answers how
long the process took to exit (killing the whole group if it outlives the limit, so no
test leaves a server behind).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

STARTUP_SECONDS = 30.0


def free_port() -> int:
    """A TCP port nothing listens on right now on 127.0.0.1 (the kernel picked it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_storefront(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """``storefront ARGS`` with ``env`` on top of this process's environment."""
    output = subprocess.DEVNULL if log is None else log.open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", *args],
            env={**os.environ, **env},
            cwd=cwd,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )
    finally:
        if log is not None:
            output.close()  # type: ignore[union-attr]


def wait_until_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    """Return once ``url`` answers 200; fail if the process exits or never answers."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {STARTUP_SECONDS:.0f} s")


def stop(process: subprocess.Popen[bytes], limit: float = 30.0) -> float:
    """SIGTERM, then the seconds until the process exited (the group is killed past ``limit``)."""
    if process.poll() is not None:
        return 0.0
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=limit)
    except subprocess.TimeoutExpired as still_running:
        kill(process)
        message = f"{process.args} was still running {limit:.0f} s after SIGTERM"
        raise AssertionError(message) from still_running
    return time.monotonic() - started


def kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the process and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
