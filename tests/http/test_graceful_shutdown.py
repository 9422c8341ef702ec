"""SIGTERM stops `storefront serve` within SHUTDOWN_TIMEOUT_SECONDS, whatever the clients do."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.http.conftest import TEST_SECRET_KEY
from tests.processes import free_port, kill, start_storefront, stop, wait_until_healthy

SHUTDOWN_TIMEOUT = 4


def test_a_client_stalled_half_way_through_its_body_does_not_keep_the_server_up(
    migrated_sqlite_url: str, tmp_path: Path
) -> None:
    port = free_port()
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    server = start_storefront(
        ["serve", "--port", str(port)],
        {
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": migrated_sqlite_url,
            "SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_TIMEOUT),
            "TMPDIR": str(temporary),
        },
        cwd=tmp_path,
    )
    try:
        wait_until_healthy(server, f"http://127.0.0.1:{port}/health")
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(
                b"POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                b'{"email": "ann@'
            )
            time.sleep(0.3)  # the request is in the application, waiting for the rest
            took = stop(server, limit=SHUTDOWN_TIMEOUT * 3)
    finally:
        kill(server)

    assert took <= SHUTDOWN_TIMEOUT
    # The run's metrics directory goes with the server, SIGTERM or not.
    assert list(temporary.iterdir()) == []
