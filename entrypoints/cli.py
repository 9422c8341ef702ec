"""The ``storefront`` command: serve, migrate, administer, seed, export the OpenAPI document.

Every failure ends with one clear line on stderr and a non-zero exit status
(2 for bad settings or usage, 1 for anything else).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import importlib.util
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from application.ports import DependencyUnavailable
from application.users import CreateSuperuserCommand
from domain.errors import DomainError
from entrypoints.bootstrap import Container, build_container, build_memory_container
from entrypoints.demo import CATEGORIES as DEMO_CATEGORIES
from entrypoints.demo import demo_catalogue
from entrypoints.logs import configure_logging
from entrypoints.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("storefront")

ASGI_FACTORY = "entrypoints.http.asgi:create_app_from_environment"
SUPERUSER_PASSWORD_VARIABLE = "STOREFRONT_SUPERUSER_PASSWORD"
DEFAULT_DEMO_PRODUCTS = 200
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A command cannot go on; the message is the one line the user sees."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[type[CommandError], tuple[str, int]]:
        # Raised in the child process of _serve's database check, re-raised here.
        return (type(self), (str(self), self.exit_code))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="storefront", description="Storefront: an e-commerce REST backend."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument(
        "--access-log", action="store_true", help="log every request (off by default)"
    )

    db = commands.add_parser("db", help="database migrations on DATABASE_URL")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser("upgrade", help="migrate up (to head by default)")
    upgrade.add_argument("revision", nargs="?", default="head")
    downgrade = db_commands.add_parser("downgrade", help="migrate down to REVISION")
    downgrade.add_argument("revision")
    db_commands.add_parser("current", help="show the current revision")

    superuser = commands.add_parser(
        "create-superuser", help="create a superuser, or promote an existing account"
    )
    superuser.add_argument("--email", required=True)
    superuser.add_argument(
        "--password",
        help=f"else ${SUPERUSER_PASSWORD_VARIABLE}, else a prompt",
    )

    seed = commands.add_parser("seed-demo", help="fill the catalogue with demo products")
    seed.add_argument("--products", type=int, default=DEFAULT_DEMO_PRODUCTS, metavar="N")
    seed.add_argument(
        "--categories", type=int, default=len(DEMO_CATEGORIES), metavar="N", help="default 12"
    )
    seed.add_argument(
        "--stock", type=int, metavar="N", help="the same stock for every product (default random)"
    )

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", "-o", metavar="FILE", help="default: standard output")

    commands.add_parser("worker", help="deliver queued e-mails outside the API process")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Entry point of the ``storefront`` console script; returns the exit status."""
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    try:
        return _run(args, environ)
    except CommandError as error:
        _fail(str(error))
        return error.exit_code
    except SettingsError as error:
        _fail(str(error))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


def _fail(message: str) -> None:
    sys.stderr.write(f"storefront: error: {message}\n")


def _run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.command == "openapi":
        return _openapi(args.output)
    settings = load_settings(environ)
    configure_logging(settings)
    if args.command == "worker":
        return asyncio.run(_worker(settings))
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.workers, args.access_log)
    if args.command == "db":
        return _db(settings, args.db_command, getattr(args, "revision", None))
    if args.command == "create-superuser":
        password = args.password or environ.get(SUPERUSER_PASSWORD_VARIABLE) or _prompt_password()
        return asyncio.run(_create_superuser(settings, args.email, password))
    if args.command == "seed-demo":
        if args.products < 1:
            raise CommandError("--products must be at least 1", EXIT_USAGE)
        if args.categories < 1:
            raise CommandError("--categories must be at least 1", EXIT_USAGE)
        if args.stock is not None and args.stock < 0:
            raise CommandError("--stock must be 0 or more", EXIT_USAGE)
        return asyncio.run(_seed_demo(settings, args.products, args.categories, args.stock))
    raise CommandError(f"unknown command {args.command!r}", EXIT_USAGE)  # pragma: no cover


# --- serve ----------------------------------------------------------------------------------


def _serve(settings: Settings, host: str, port: int, workers: int, access_log: bool) -> int:
    import uvicorn

    from entrypoints.http.protocol import GuardedHttpToolsProtocol, ProtocolLimits

    if workers < 1:
        raise CommandError("--workers must be at least 1", EXIT_USAGE)
    _prepare_database_in_child(settings)
    limits = ProtocolLimits(read_timeout_seconds=settings.request_read_timeout_seconds)
    uvicorn.run(
        ASGI_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        # httptools with the read deadline and head limits uvicorn lacks (protocol.py).
        http=functools.partial(GuardedHttpToolsProtocol, limits=limits),
        # No route uses WebSockets: their protocol (and its own limits) is not offered.
        ws="none",
        # Logging is configured by configure_logging; X-Forwarded-For is trusted only from
        # TRUSTED_PROXIES, by the application itself.
        log_config=None,
        access_log=access_log,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _prepare_database_in_child(settings: Settings) -> None:
    """:func:`_prepare_database` in a short-lived process of its own.

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
        child.submit(_prepare_database, settings, refuse_outdated=True).result()


def _prepare_database(settings: Settings, *, refuse_outdated: bool) -> None:
    """SQLite (the embedded default) is created or upgraded; PostgreSQL must be up to date."""
    from adapters.sql import migrate

    if settings.uses_sqlite:
        try:
            migrate.upgrade(settings.database_url)
        except Exception as exc:
            raise CommandError(f"cannot create or upgrade the SQLite database: {exc}") from exc
        return
    if refuse_outdated and not asyncio.run(_schema_is_current(settings)):
        raise CommandError("the database schema is out of date: run `storefront db upgrade`")


async def _schema_is_current(settings: Settings) -> bool:
    from adapters.sql.engine import create_engine_for
    from adapters.sql.migrate import is_up_to_date

    engine = create_engine_for(settings.database_url, pool_size=1, max_overflow=0)
    try:
        return await is_up_to_date(engine)
    except Exception as exc:
        raise CommandError(f"cannot reach the database: {_short(exc)}") from exc
    finally:
        await engine.dispose()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- worker ---------------------------------------------------------------------------------


async def _worker(settings: Settings) -> int:
    """Deliver the outbox and purge dead refresh tokens until SIGTERM or SIGINT."""
    container = await asyncio.to_thread(_container_for_command, settings)
    dispatcher = container.outbox_dispatcher()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, dispatcher.request_stop)
    purge = container.refresh_token_purge()
    await purge.start()
    logger.info("Outbox worker started")
    try:
        await dispatcher.run_until_stopped()
    finally:
        await purge.stop()
        await container.close()
    logger.info("Outbox worker stopped")
    return 0


# --- db -------------------------------------------------------------------------------------


def _db(settings: Settings, action: str, revision: str | None) -> int:
    from adapters.sql import migrate

    try:
        if action == "upgrade":
            migrate.upgrade(settings.database_url, revision or "head")
        elif action == "downgrade":
            assert revision is not None
            migrate.downgrade(settings.database_url, revision)
        reached = migrate.current(settings.database_url)
        shown = reached or "(no revision: empty database)"
        if action == "current":
            sys.stdout.write(f"{shown}\n")
        else:
            sys.stdout.write(f"Database now at revision {shown}\n")
    except CommandError:
        raise
    except Exception as exc:
        raise CommandError(f"db {action} failed: {_short(exc)}") from exc
    return 0


# --- administration -------------------------------------------------------------------------


def _prompt_password() -> str:
    if not sys.stdin.isatty():
        raise CommandError(
            f"no password: pass --password, set {SUPERUSER_PASSWORD_VARIABLE}, or run in a terminal"
        )
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("the passwords do not match")
    return password


async def _create_superuser(settings: Settings, email: str, password: str) -> int:
    container = await asyncio.to_thread(_container_for_command, settings)
    try:
        user = await container.create_superuser.execute(
            CreateSuperuserCommand(email=email, password=password)
        )
    except (DomainError, DependencyUnavailable) as error:
        raise CommandError(error.detail) from error
    finally:
        await container.close()
    sys.stdout.write(f"Superuser {user.email} (id {user.id}) is ready.\n")
    return 0


def _container_for_command(settings: Settings) -> Container:
    _prepare_database(settings, refuse_outdated=True)
    return build_container(settings)


async def _seed_demo(settings: Settings, count: int, categories: int, stock: int | None) -> int:
    container = await asyncio.to_thread(_container_for_command, settings)
    bar = ProgressBar(sys.stderr, label="Seeding products")
    try:
        items = demo_catalogue(count, container.clock.now, categories=categories, stock=stock)
        added = await container.catalogue_loader().load(items, bar.update, count)
    except DependencyUnavailable as error:
        raise CommandError(error.detail) from error
    finally:
        bar.finish()
        await container.close()
    sys.stdout.write(f"Added {added} demo product(s); {count - added} were already there.\n")
    return 0


class ProgressBar:
    """A one-line text progress bar (redrawn in place on a terminal)."""

    WIDTH = 30

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._drawn = False
        self._interactive = stream.isatty()

    def update(self, done: int, total: int) -> None:
        filled = self.WIDTH * done // max(total, 1)
        line = f"{self._label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{total}"
        self._stream.write(("\r" if self._interactive else "") + line)
        if not self._interactive:
            self._stream.write("\n")
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn and self._interactive:
            self._stream.write("\n")
            self._stream.flush()


# --- openapi --------------------------------------------------------------------------------


def openapi_document() -> dict[str, object]:
    """The OpenAPI document, built from the application without touching any database."""
    from entrypoints.http.app import create_app

    # The document depends on no setting; a throwaway key avoids reading or creating one.
    settings = Settings(secret_key=secrets.token_urlsafe(48))
    app = create_app(build_memory_container(settings))
    return app.openapi_schema.to_schema()


def _openapi(output: str | None) -> int:
    text = json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
    if output is None or output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror}") from exc
    sys.stderr.write(f"OpenAPI document written to {output}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
