"""How database failures are told apart: "the database is down" versus everything else."""

from __future__ import annotations

from types import TracebackType
from typing import Literal

import sqlalchemy.exc as sa_exc

from application.ports.common import DependencyUnavailable

# SQLSTATE classes meaning the server cannot serve us right now: connection exceptions,
# insufficient resources (too many connections...), operator intervention (shutdown,
# statement timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})


# Without a SQLSTATE (SQLite, or a driver-level fault) these mean "cannot talk to it now":
# a locked database file, a closed connection.
_DRIVER_TROUBLE = (sa_exc.OperationalError, sa_exc.InterfaceError)


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def unavailable_from(exc: BaseException) -> DependencyUnavailable | None:
    """The ``DependencyUnavailable`` that ``exc`` amounts to, or None for other failures."""
    if isinstance(exc, DependencyUnavailable):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):
        return DependencyUnavailable("Database connection pool exhausted")
    if isinstance(exc, OSError | TimeoutError):
        return DependencyUnavailable("Database unreachable")
    if isinstance(exc, sa_exc.DBAPIError):
        sqlstate = _sqlstate(exc)
        if (
            exc.connection_invalidated
            or (sqlstate is not None and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES)
            or (sqlstate is None and isinstance(exc, _DRIVER_TROUBLE))
        ):
            return DependencyUnavailable("Database unavailable")
        if isinstance(exc.orig, OSError | TimeoutError):
            return DependencyUnavailable("Database unreachable")
    return None


class _Translated:
    """``with database_failures:`` lets a failure that means "the database cannot serve
    us now" leave as ``DependencyUnavailable`` (chained to the original); anything else
    leaves unchanged. Stateless, so one shared instance serves every block."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        # Literal[False], not bool: type checkers then know the block never swallows an
        # exception, so code after a `with database_failures:` that returns is reachable.
        if isinstance(exc, Exception) and (unavailable := unavailable_from(exc)) is not None:
            raise unavailable from exc
        return False


database_failures = _Translated()


def is_unique_violation(exc: sa_exc.DBAPIError) -> bool:
    if not isinstance(exc, sa_exc.IntegrityError):
        return False
    sqlstate = _sqlstate(exc)
    if sqlstate is not None:
        return sqlstate == "23505"
    return "UNIQUE constraint failed" in str(exc.orig)
