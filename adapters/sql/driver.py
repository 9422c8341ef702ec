"""The hot statements on PostgreSQL, run on the pooled connection's asyncpg driver.

SQLAlchemy stays the single source of SQL: a :class:`HotStatement` is an ordinary Core
statement, compiled once for the engine's dialect. What this module replaces is only
SQLAlchemy's execution and result layers for those statements (a third of a product
read's CPU time, see ADR 0013), and so it owns everything they did for them:

- parameters: put in the compiled order, each through the bind processor of its type
  (``UtcDateTime`` refuses naive times here as it does through SQLAlchemy);
- results: each column through the result processor of its type, as SQLAlchemy would
  apply it to the same driver value (``Money`` quantized to cents, ``UtcDateTime``
  tagged UTC); rows come back as tuples, read by position like SQLAlchemy rows;
- the transaction: a statement that writes begins the transaction exactly where
  SQLAlchemy's cursor would (reads before it run in autocommit, ADR 0004), on the same
  driver transaction object, so commit and rollback stay SQLAlchemy's;
- failures: a driver error becomes the same SQLAlchemy exception SQLAlchemy would raise
  (so ``database_failures`` and the repositories tell them apart as before), and a
  connection left in an unknown state (closed under us, or a statement cancelled
  midway) is invalidated, so the pool never hands it out again.

SQLite, and any engine built with ``driver_path=False``, runs the same statements through
SQLAlchemy (:meth:`adapters.sql.database.Transaction.rows`); the contract suite runs on
both paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import sqlalchemy.exc as sa_exc
from sqlalchemy import ClauseElement, CompoundSelect, Executable, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

_Processor = Callable[[Any], Any]
_REQUIRED: Final = object()


def is_plain_read(statement: Executable) -> bool:
    """A SELECT that neither writes nor locks rows (``FOR UPDATE`` needs a transaction)."""
    if isinstance(statement, Select):
        # FOR UPDATE has no public accessor on Select.
        return statement._for_update_arg is None
    return isinstance(statement, CompoundSelect)


class HotStatement:
    """A Core statement that runs on the driver on PostgreSQL (and through SQLAlchemy
    elsewhere). Build one at import time, beside the statement it wraps."""

    __slots__ = ("_compiled", "plain_read", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self.plain_read = is_plain_read(statement)
        """Neither writes nor locks: may run in autocommit before the first write."""
        self._compiled: _Compiled | None = None

    def compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled
        if compiled is None or compiled.dialect is not dialect:
            compiled = self._compiled = _Compiled(self.statement, dialect)
        return compiled


class _Compiled:
    """One statement compiled for one dialect: SQL text, how to order and convert its
    parameters, and (after its first run) how to convert its columns."""

    __slots__ = ("_result_types", "dialect", "parameters", "results", "sql")

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.positiontup is None or "POSTCOMPILE" in compiled.string:
            # Expanding IN lists and literal-rendered parameters change the SQL per call.
            raise ValueError("A hot statement needs fixed SQL with positional parameters")
        self.dialect = dialect
        self.sql = compiled.string
        parameters: list[tuple[str, Any, _Processor | None]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            fixed = _REQUIRED if bind.required else bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            parameters.append((bind.key, fixed, processor))
        self.parameters = tuple(parameters)
        self._result_types = tuple(column[3] for column in compiled._result_columns)
        self.results: tuple[tuple[int, _Processor], ...] | None = None

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for key, fixed, processor in self.parameters:
            value = values[key] if fixed is _REQUIRED else values.get(key, fixed)
            arguments.append(value if processor is None else processor(value))
        return arguments

    def learn_result_types(self, type_oids: Sequence[int]) -> None:
        """Each column's result processor, for the driver type the server reports (as
        SQLAlchemy picks it from the cursor's description)."""
        dialect = self.dialect
        results = []
        for index, (type_, oid) in enumerate(zip(self._result_types, type_oids, strict=True)):
            processor = type_.dialect_impl(dialect).result_processor(dialect, oid)
            if processor is not None:
                results.append((index, processor))
        self.results = tuple(results)


async def fetch(
    connection: AsyncConnection,
    hot: HotStatement,
    values: Mapping[str, Any],
) -> list[tuple[Any, ...]]:
    """Run ``hot`` on ``connection``'s driver; rows as SQLAlchemy would give them."""
    sync_connection = connection.sync_connection
    assert sync_connection is not None
    dialect = sync_connection.dialect
    compiled = hot.compiled_for(dialect)
    # The checked-out DBAPI connection: SQLAlchemy's asyncpg adapter, holding the driver.
    adapted: Any = sync_connection.connection.dbapi_connection
    driver = adapted._connection
    try:
        arguments = compiled.arguments(values)
    except Exception as error:
        # As SQLAlchemy reports a value its type refuses (a naive time): a StatementError.
        raise _wrapped(error, compiled, values, sync_connection.dialect, False) from error
    try:
        if adapted._transaction is None:
            # What SQLAlchemy's cursor does before every statement: BEGIN unless the
            # connection is in autocommit (the reads before the first write).
            await adapted._start_transaction()
        if compiled.results is None:
            prepared = await driver.prepare(compiled.sql)
            compiled.learn_result_types([a.type.oid for a in prepared.get_attributes()])
            records = await prepared.fetch(*arguments)
        else:
            records = await driver.fetch(compiled.sql, *arguments)
    except Exception as error:
        translated = _translated(error, adapted, sync_connection, compiled, values)
        if translated is error:
            raise
        raise translated from error
    except BaseException:
        # Cancelled midway: the server may still be running the statement or sending
        # its rows. SQLAlchemy invalidates the connection in that case; so do we.
        _invalidate(sync_connection, None)
        raise
    results = compiled.results
    assert results is not None
    if not results:
        return [tuple(record) for record in records]
    rows = []
    for record in records:
        row = list(record)
        for index, processor in results:
            row[index] = processor(row[index])
        rows.append(tuple(row))
    return rows


def _translated(
    error: Exception,
    adapted: Any,
    sync_connection: Any,
    compiled: _Compiled,
    values: Mapping[str, Any],
) -> BaseException:
    """``error`` as SQLAlchemy's execution layer would raise it, with the connection
    invalidated when SQLAlchemy would invalidate it."""
    dialect = sync_connection.dialect
    dbapi = dialect.loaded_dbapi
    mapped: Exception = error
    try:
        # The adapter maps asyncpg's exceptions to its DBAPI ones (IntegrityError...);
        # anything else (a timeout, an OSError) comes back unchanged, as it does there,
        # and SQLAlchemy neither wraps it nor invalidates the connection for it.
        adapted._handle_exception(error)
    except Exception as dbapi_error:
        mapped = dbapi_error
    if not isinstance(mapped, dbapi.Error):
        return mapped
    disconnected = bool(dialect.is_disconnect(mapped, adapted, None))
    if disconnected:
        _invalidate(sync_connection, mapped)
    return _wrapped(mapped, compiled, values, dialect, disconnected)


def _wrapped(
    error: Exception,
    compiled: _Compiled,
    values: Mapping[str, Any],
    dialect: Dialect,
    disconnected: bool,
) -> BaseException:
    wrapped: BaseException = sa_exc.DBAPIError.instance(
        compiled.sql,
        dict(values),
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=disconnected,
        dialect=dialect,
    )
    return wrapped


def _invalidate(sync_connection: Any, error: BaseException | None) -> None:
    # Outside a greenlet the adapter closes the driver connection at once (no await), and
    # the pool replaces it at the next checkout.
    if not sync_connection.invalidated and not sync_connection.closed:
        sync_connection.invalidate(error)
