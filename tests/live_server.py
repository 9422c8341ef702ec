"""``storefront serve`` as a real subprocess on a free port, for tests that need real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENVIRONMENT",
    "REDIS_URL",
    "SMTP_HOST",
    "STOREFRONT_SUPERUSER_PASSWORD",
)
STARTUP_SECONDS = 30


def bare_environment(**settings: str) -> dict[str, str]:
    """The test process's environment without Storefront's settings, plus ``settings``."""
    environment = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    return {**environment, **settings}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def storefront(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """One ``storefront`` command, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        cwd=cwd,
        env=dict(env) if env is not None else bare_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def serving(cwd: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``storefront serve`` in ``cwd`` until the block ends; yields its base URL."""
    # The server's log goes to a file, never to a pipe nobody drains: with the access
    # log on, a full pipe blocks the server's event loop in the middle of a test.
    with tempfile.TemporaryFile(mode="w+") as log:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
            cwd=cwd,
            env=dict(env) if env is not None else bare_environment(),
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_healthy(base, server, log)
            yield base
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_healthy(base: str, server: subprocess.Popen[str], log: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, _read(log)
        assert time.monotonic() < deadline, f"the server did not start in {STARTUP_SECONDS} s"
        time.sleep(0.1)


def _read(log: IO[str]) -> str:
    log.seek(0)
    return log.read()
