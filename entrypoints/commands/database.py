"""``storefront db ...``: Alembic migrations on ``DATABASE_URL``."""

from __future__ import annotations

import sys

from entrypoints.commands.common import CommandError, short
from entrypoints.settings import Settings


def db(settings: Settings, action: str, revision: str | None) -> int:
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
        raise CommandError(f"db {action} failed: {short(exc)}") from exc
    return 0


def db_history(settings: Settings) -> int:
    from adapters.sql import migrate

    try:
        sys.stdout.write(migrate.history(settings.database_url))
    except Exception as exc:
        raise CommandError(f"db history failed: {short(exc)}") from exc
    return 0


def db_revision(settings: Settings, message: str, directory: str | None) -> int:
    from adapters.sql import migrate

    try:
        path = migrate.new_revision(settings.database_url, message, directory=directory)
    except Exception as exc:
        raise CommandError(f"db revision failed: {short(exc)}") from exc
    sys.stdout.write(f"Wrote {path}: review it before applying it\n")
    return 0
