"""Logging for the processes Storefront runs: readable lines, or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from entrypoints.http.request_context import request_id_var
from entrypoints.settings import Settings

SQL_STATEMENT_LOGGER = "sqlalchemy.engine"
"""At INFO and below it logs every statement with its parameters: password hashes,
e-mail addresses, refresh-token digests. It stays at WARNING whatever ``LOG_LEVEL`` says."""
CONSOLE_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(request_id)s%(trace)s] %(message)s"

_trace_id_source: Callable[[], str | None] | None = None


def set_trace_id_source(source: Callable[[], str | None] | None) -> None:
    """Where records find the current trace id (set when tracing is on)."""
    global _trace_id_source
    _trace_id_source = source


class RequestIdFilter(logging.Filter):
    """Adds the current request's id (or ``-``) to every record that does not carry one,
    and the current trace's id when tracing is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        trace_id = _trace_id_source() if _trace_id_source is not None else None
        record.trace_id = trace_id
        record.trace = f" trace_id={trace_id}" if trace_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            # Several workers write to one stream: which one is it?
            "process": record.process,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if trace_id := getattr(record, "trace_id", None):
            entry["trace_id"] = trace_id
        # Structured records (the access log, security events) give their fields as
        # ``extra={"fields": {...}}``: keys of the object, not text in the message.
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(settings: Settings) -> None:
    """Send every logger to stderr in the configured format.

    uvicorn runs with ``log_config=None``: its loggers add no handlers of their own and
    reach this one. uvicorn's access log stays off: the application writes its own
    (``storefront.access``, see ``entrypoints.http.exchanges``).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger(SQL_STATEMENT_LOGGER).setLevel(logging.WARNING)
    if settings.log_level != "DEBUG":
        # Alembic narrates every connection it configures; the commands say what matters.
        logging.getLogger("alembic").setLevel(logging.WARNING)
