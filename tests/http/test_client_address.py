"""Which address a login is throttled by: X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

from typing import Any

from entrypoints.http.security import client_address


def scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return {"client": (peer, 50000), "headers": headers}


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.1"), ()) == "203.0.113.9"


def test_a_trusted_proxy_is_believed() -> None:
    assert client_address(scope("10.0.0.2", "198.51.100.1"), ("10.0.0.0/8",)) == "198.51.100.1"


def test_an_untrusted_peer_cannot_forge_its_address() -> None:
    assert client_address(scope("203.0.113.9", "198.51.100.1"), ("10.0.0.0/8",)) == "203.0.113.9"


def test_the_address_nearest_our_proxies_wins_over_client_supplied_ones() -> None:
    forwarded = "1.1.1.1, 198.51.100.7, 10.0.0.5"

    assert client_address(scope("10.0.0.2", forwarded), ("10.0.0.0/8",)) == "198.51.100.7"


def test_garbage_in_the_header_falls_back_to_the_peer() -> None:
    assert client_address(scope("10.0.0.2", "not-an-ip"), ("10.0.0.0/8",)) == "10.0.0.2"


def test_no_client_information_gives_no_address() -> None:
    assert client_address({"client": None, "headers": []}, ()) is None
