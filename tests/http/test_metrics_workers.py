"""`storefront serve --workers 2`: one scrape adds up both workers, and the run's metric
files go when the server does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.http.conftest import TEST_SECRET_KEY
from tests.http.test_metrics import parse, value
from tests.live_server import bare_environment, free_port

TOKEN = "a-long-random-metrics-token"


def entries(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def health_lines(log: Path) -> list[dict[str, object]]:
    return [entry for entry in entries(log) if entry.get("route") == "/health"]


def started_workers(log: Path) -> set[object]:
    return {
        entry["process"]
        for entry in entries(log)
        if entry.get("message") == "Application startup complete."
    }


def test_two_workers_add_up_in_one_scrape(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "tmp").mkdir()
    log = tmp_path / "server.log"
    environment = {
        **bare_environment(),
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}",
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
        "TMPDIR": str(tmp_path / "tmp"),
    }
    with log.open("w") as stderr:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "entrypoints.cli",
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            env=environment,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        _wait_until_up(base, server, log)
        deadline = time.monotonic() + 120
        while len(started_workers(log)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        # New connections, several at a time, until both workers have answered some.
        with ThreadPoolExecutor(32) as pool:
            while time.monotonic() < deadline:
                list(pool.map(lambda _: _get(f"{base}/health"), range(64)))
                if len({entry["process"] for entry in health_lines(log)}) >= 2:
                    break
                time.sleep(0.5)
        time.sleep(0.5)  # each is logged and counted just after its response is sent
        served = health_lines(log)
        assert len({entry["process"] for entry in served}) == 2, [
            entry for entry in entries(log) if entry.get("logger") != "storefront.access"
        ]
        # Each worker hands its counts over once a second (the one scraped, at once).
        flushed_by = time.monotonic() + 10
        while True:
            samples = parse(_get(f"{base}/metrics", Authorization=f"Bearer {TOKEN}").text)
            counted = value(
                samples, "http_requests_total", method="GET", route="/health", status="200"
            )
            if counted >= len(served) or time.monotonic() > flushed_by:
                break
            time.sleep(0.25)
        # A live gauge: each worker's SQLite pool of one connection.
        pool_size = value(samples, "storefront_db_pool_connections")
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)

    assert counted == len(served)
    assert pool_size == 2
    assert list((tmp_path / "tmp").iterdir()) == []


def _get(url: str, **headers: str) -> httpx.Response:
    response = httpx.get(url, headers={"Connection": "close", **headers}, timeout=10)
    assert response.status_code == 200, response.text
    return response


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    # Two workers each import the whole application: slow on a busy machine.
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not start in 120 s"
        time.sleep(0.1)
