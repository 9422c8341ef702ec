"""What the ``storefront`` commands share: errors and exit codes, and a container on a
database that is known to be at the current schema."""

from __future__ import annotations

import asyncio

from entrypoints.bootstrap import build_container
from entrypoints.container import Container
from entrypoints.settings import Settings
from entrypoints.tracing import Tracing

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A command cannot go on; the message is the one line the user sees."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type[CommandError], tuple[str, int]]:
        # Raised in the child process of serve's database check, re-raised here.
        return (type(self), (str(self), self.exit_code))


def short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def container_for_command(settings: Settings, tracing: Tracing | None = None) -> Container:
    prepare_database(settings, refuse_outdated=True)
    return build_container(settings, tracing=tracing)


def prepare_database_in_child(settings: Settings) -> None:
    """:func:`prepare_database` in a short-lived process of its own.

    With one worker, uvicorn serves from this very process: Alembic and the migration
    scripts, imported here, would stay resident for the server's whole life (11 MiB).
    Forked, not spawned: a spawned child brings multiprocessing's resource tracker, a
    process that would outlive the check by the server's whole life too. Nothing runs
    in other threads yet, so forking is safe.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Windows has no fork; there the resource tracker is the lesser evil.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context(method)) as child:
        child.submit(prepare_database, settings, refuse_outdated=True).result()


def prepare_database(settings: Settings, *, refuse_outdated: bool) -> None:
    """SQLite (the embedded default) is created or upgraded; PostgreSQL must be up to date."""
    from adapters.sql import migrate

    if settings.uses_sqlite:
        try:
            migrate.upgrade(settings.database_url)
        except Exception as exc:
            raise CommandError(f"cannot create or upgrade the SQLite database: {exc}") from exc
        return
    if refuse_outdated and not asyncio.run(schema_is_current(settings)):
        raise CommandError("the database schema is out of date: run `storefront db upgrade`")


async def schema_is_current(settings: Settings) -> bool:
    from adapters.sql.engine import create_engine_for
    from adapters.sql.migrate import is_up_to_date

    engine = create_engine_for(settings.database_url, pool_size=1, max_overflow=0)
    try:
        return await is_up_to_date(engine)
    except Exception as exc:
        raise CommandError(f"cannot reach the database: {short(exc)}") from exc
    finally:
        await engine.dispose()
