"""Logs keep secrets out and carry the request id; ``LOG_FORMAT=json`` is one object per line.

The main test captures every record of every logger at DEBUG while a user
registers, logs in (both bodies, and once wrongly), refreshes, replays a spent
refresh token, places an order, and logs out, then delivers the outbox, and checks
that no record holds the password, an access token or a refresh token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from entrypoints.http.request_context import request_id_var
from entrypoints.logs import (
    SQL_STATEMENT_LOGGER,
    JsonFormatter,
    RequestIdFilter,
    configure_logging,
)
from tests.http.conftest import PASSWORD, Api, bearer, failing, http_client, items, make_settings


class _Everything(logging.Handler):
    """Keeps every record, rendered every way a formatter might render it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        rendered = logging.Formatter().format(record)
        self.texts.append(f"{rendered}\n{record.args!r}\n{record.__dict__!r}")


@contextmanager
def _capture_every_logger() -> Iterator[_Everything]:
    handler = _Everything()
    root = logging.getLogger()
    loggers = [
        logger
        for logger in logging.root.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.propagate, logger.disabled) for logger in loggers]
    root_level = root.level
    for logger in loggers:
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        logger.disabled = False
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for logger, level, propagate, disabled in saved:
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


async def test_no_log_record_holds_a_password_or_a_token(api: Api) -> None:
    secrets: list[str] = [PASSWORD]
    with _capture_every_logger() as captured:
        admin = await api.superuser()
        product = await api.product(admin)
        await api.register("alice@example.com")
        form = await api.login("alice@example.com")
        json_login = await api.http.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        )
        wrong = await api.http.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": PASSWORD + "x"}
        )
        refreshed = await api.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": form["refresh_token"]}
        )
        replayed = await api.http.post(
            "/api/v1/auth/refresh", json={"refresh_token": form["refresh_token"]}
        )
        tokens = json_login.json()
        headers = {**bearer(tokens["access_token"]), "Idempotency-Key": "order-1"}
        order = await api.http.post(
            "/api/v1/orders",
            json=items((product["id"], 1)),
            headers=headers,
        )
        logout = await api.http.post(
            "/api/v1/auth/logout",
            json={"refresh_token": tokens["refresh_token"]},
            headers=bearer(tokens["access_token"]),
        )
        await api.container.deliver_outbox.execute()

    assert (wrong.status_code, refreshed.status_code, replayed.status_code) == (401, 200, 401)
    assert (order.status_code, logout.status_code) == (201, 204)
    secrets += [form["access_token"], form["refresh_token"]]
    secrets += [tokens["access_token"], tokens["refresh_token"]]
    secrets += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
    secrets.append(admin["Authorization"].removeprefix("Bearer "))
    # The capture saw the flow (the welcome e-mails at least), so silence proves nothing.
    assert captured.records
    leaks = [
        (secret[:12], text[:300]) for text in captured.texts for secret in secrets if secret in text
    ]
    assert leaks == []
    # Password hashes only ever show in SQLAlchemy's statement log (its parameters),
    # which configure_logging keeps at WARNING whatever LOG_LEVEL says.
    hash_loggers = {
        record.name
        for record, text in zip(captured.records, captured.texts, strict=True)
        if "$argon2" in text
    }
    assert all(name.startswith(SQL_STATEMENT_LOGGER) for name in hash_loggers)


def test_sql_statements_and_their_parameters_are_never_logged() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    statements = logging.getLogger(SQL_STATEMENT_LOGGER)
    saved_statements_level = statements.level
    try:
        configure_logging(make_settings(LOG_LEVEL="DEBUG"))
        assert not logging.getLogger(f"{SQL_STATEMENT_LOGGER}.Engine").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        statements.setLevel(saved_statements_level)


async def test_a_record_made_during_a_request_carries_its_id(
    app_for: Callable[..., Any],
) -> None:
    app = app_for(tweak=failing("list_products", RuntimeError("boom")))
    seen: list[str | None] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(getattr(record, "request_id", None))

    spy = Spy()
    spy.addFilter(RequestIdFilter())
    logger = logging.getLogger("entrypoints.http.problems")
    logger.addHandler(spy)
    try:
        async with http_client(app) as http:
            response = await http.get("/api/v1/products", headers={"X-Request-ID": "trace-me-42"})
        # Outside any request there is no id.
        logger.warning("outside")
    finally:
        logger.removeHandler(spy)

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-me-42"
    assert seen == ["trace-me-42", "-"]


def test_the_request_id_filter_names_the_current_request() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    assert record.request_id == "abc123"  # type: ignore[attr-defined]


def test_json_logs_are_one_object_per_line_with_the_request_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(make_settings(LOG_FORMAT="json", LOG_LEVEL="INFO"))
    token = request_id_var.set("req-7")
    try:
        logging.getLogger("storefront.test").info("two\nlines %s", "here")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("storefront.test").exception("failed")
    finally:
        request_id_var.reset(token)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)

    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    entries: list[dict[str, Any]] = [json.loads(line) for line in lines]
    assert [entry["message"] for entry in entries] == ["two\nlines here", "failed"]
    assert {entry["request_id"] for entry in entries} == {"req-7"}
    assert entries[0]["level"] == "INFO"
    assert entries[0]["time"].endswith("Z")
    assert "ValueError: boom" in entries[1]["exception"]
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)
