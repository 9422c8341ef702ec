"""``storefront create-superuser``."""

from __future__ import annotations

import asyncio
import getpass
import sys

from application.ports.common import DependencyUnavailable
from application.users import CreateSuperuserCommand
from domain.errors import DomainError
from entrypoints.commands.common import CommandError, container_for_command
from entrypoints.settings import Settings

SUPERUSER_PASSWORD_VARIABLE = "STOREFRONT_SUPERUSER_PASSWORD"


def prompt_password() -> str:
    if not sys.stdin.isatty():
        raise CommandError(
            f"no password: pass --password, set {SUPERUSER_PASSWORD_VARIABLE}, or run in a terminal"
        )
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Password (again): "):
        raise CommandError("the passwords do not match")
    return password


async def create_superuser(settings: Settings, email: str, password: str) -> int:
    container = await asyncio.to_thread(container_for_command, settings)
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
