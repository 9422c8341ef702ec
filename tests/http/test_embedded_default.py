"""With no settings at all, `storefront serve` keeps its data in ./storefront.db across restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SETTINGS = (
    "DATABASE_URL",
    "SECRET_KEY",
    "ENVIRONMENT",
    "REDIS_URL",
    "SMTP_HOST",
    "STOREFRONT_SUPERUSER_PASSWORD",
)


def bare_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in SETTINGS}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def storefront(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        cwd=cwd,
        env=bare_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@contextmanager
def serving(cwd: Path) -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
        cwd=cwd,
        env=bare_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            time.sleep(0.1)
        yield base
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)


def test_a_product_created_over_http_is_still_there_after_a_restart(tmp_path: Path) -> None:
    made = storefront(
        "create-superuser", "--email", "root@example.com", "--password", "long-password",
        cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    with serving(tmp_path) as base:
        token = httpx.post(
            f"{base}/api/v1/auth/login",
            data={"username": "root@example.com", "password": "long-password"},
        ).json()["access_token"]
        created = httpx.post(
            f"{base}/api/v1/products",
            json={"name": "Red Shirt", "price": "19.99", "stock": 3, "category": "shirts"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text

    assert (tmp_path / "storefront.db").exists()
    assert (tmp_path / ".storefront-secret").exists()
    with serving(tmp_path) as base:
        found = httpx.get(f"{base}/api/v1/products/slug/red-shirt")
        assert found.status_code == 200
        assert found.json()["price"] == "19.99"
        # The generated key is kept: a token from before the restart still works.
        me = httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
