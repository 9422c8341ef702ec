"""The server's own limits, over real sockets against ``storefront serve``.

A read deadline (``REQUEST_READ_TIMEOUT_SECONDS``, 1 s here so the tests stay fast),
a cap on the request head, and problem+json for what the HTTP parser refuses.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from entrypoints.http.protocol import MAX_HEAD_BYTES
from tests.live_server import bare_environment, serving

READ_TIMEOUT = 1
# However loaded the machine, a cut-off connection is closed well before this.
GIVE_UP_SECONDS = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    directory: Path = tmp_path_factory.mktemp("server-limits")
    env = bare_environment(
        SECRET_KEY="server-limits-secret-key-long-enough-for-hs256",
        REQUEST_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
        OUTBOX_DISPATCHER_IN_PROCESS="false",
    )
    with serving(directory, env) as base:
        address = urlsplit(base)
        yield base, int(address.port or 80)


def connect(server: tuple[str, int]) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server[1]), timeout=GIVE_UP_SECONDS)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connection


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts)."""
    received = b""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while time.monotonic() < deadline:
        try:
            chunk = connection.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    raise AssertionError(f"the server kept the connection open; got {received[:200]!r}")


def trickle(connection: socket.socket, data: bytes, interval: float = 0.2) -> bool:
    """Send ``data`` a byte at a time; False once the server has closed the connection."""
    for byte in data:
        try:
            connection.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return False
        time.sleep(interval)
    return True


def problem(response: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert headers["content-type"] == "application/problem+json", response
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-request-id"]
    assert headers["connection"] == "close"
    document = json.loads(body)
    status = int(status_line.split()[1])
    assert document["status"] == status
    return status, headers, document


def test_a_client_trickling_its_headers_is_cut_off(server: tuple[str, int]) -> None:
    with connect(server) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        still_open = trickle(connection, b"X-Slow: " + b"a" * 100)
        response = read_until_closed(connection)

    assert not still_open or time.monotonic() - started < GIVE_UP_SECONDS
    status, _, document = problem(response)
    assert status == 408
    assert document["instance"] == "/health"


def test_a_client_trickling_its_body_is_cut_off(server: tuple[str, int]) -> None:
    body = b'{"email": "slow@example.com", "password": "correct-horse-battery"}'
    with connect(server) as connection:
        connection.sendall(
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        trickle(connection, body)
        response = read_until_closed(connection)

    status, _, _ = problem(response)
    assert status == 408


def test_a_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    with connect(server) as connection:
        assert read_until_closed(connection) == b""


def test_a_request_sent_in_time_is_served_on_a_kept_alive_connection(
    server: tuple[str, int],
) -> None:
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with connect(server) as connection:
        for _ in range(2):
            connection.sendall(request)
            assert read_response(connection).startswith(b"HTTP/1.1 200 OK")
            time.sleep(READ_TIMEOUT * 0.6)


def read_response(connection: socket.socket) -> bytes:
    """One whole response with a Content-Length, on a connection left open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.lower().split(b"\r\n") if b"content-length" in line).partition(
            b":"
        )[2]
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def head_refused(server: tuple[str, int], head: bytes) -> bytes:
    """Send a request head that may be refused part-way; what came back before the close."""
    with connect(server) as connection:
        try:
            for start in range(0, len(head), 65536):
                connection.sendall(head[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_until_closed(connection)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (8 << 20) + b"\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + b"".join(b"X-Header-%d: 1\r\n" % number for number in range(5000))
        + b"\r\n",
    ],
    ids=["one 8 MiB header", "5,000 headers"],
)
def test_an_oversized_request_head_is_refused(server: tuple[str, int], head: bytes) -> None:
    response = head_refused(server, head)

    # Refused early: either the 431 arrived, or the close reset the connection first.
    if response:
        status, _, _ = problem(response)
        assert status == 431
    assert httpx.get(f"{server[0]}/health").status_code == 200


def test_a_head_just_over_the_limit_gets_a_431_problem(server: tuple[str, int]) -> None:
    padding = b"a" * MAX_HEAD_BYTES
    response = head_refused(
        server, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + padding + b"\r\n\r\n"
    )

    status, _, document = problem(response)
    assert status == 431
    assert "bytes" in str(document["detail"])


def test_a_head_within_the_limit_is_served(server: tuple[str, int]) -> None:
    padding = "a" * (MAX_HEAD_BYTES // 2)

    assert httpx.get(f"{server[0]}/health", headers={"X-Pad": padding}).status_code == 200


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET /health HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n"],
    ids=["request line", "header name"],
)
def test_a_request_the_parser_refuses_gets_a_400_problem(
    server: tuple[str, int], request_bytes: bytes
) -> None:
    with connect(server) as connection:
        connection.sendall(request_bytes)
        response = read_until_closed(connection)

    status, _, document = problem(response)
    assert status == 400
    assert document["title"] == "Bad Request"


def test_a_websocket_upgrade_is_served_as_plain_http_and_the_connection_closed(
    server: tuple[str, int],
) -> None:
    with connect(server) as connection:
        connection.sendall(
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        )
        response = read_until_closed(connection)

    assert response.startswith(b"HTTP/1.1 200 OK"), response
    assert response.endswith(b'"status":"ok","version":"0.1.0"}')
