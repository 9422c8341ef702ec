"""The deployment kit in deploy/, read as the tests need it.

The multi-instance test builds its processes from these: the commands and settings of
compose.yaml's services (with the addresses of this machine's PostgreSQL, Redis and
mail server instead of the containers'), the values of .env.example, and nginx.conf
with only its listening port and upstream servers changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from entrypoints.setting_values import read_env_file

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "compose.yaml"
NGINX_CONF = DEPLOY / "nginx.conf"
ENV_EXAMPLE = DEPLOY / ".env.example"

# The settings that name another container; a test on one machine points them elsewhere.
ADDRESS_SETTINGS = ("DATABASE_URL", "REDIS_URL", "SMTP_HOST", "SMTP_PORT", "TRUSTED_PROXIES")
_UPSTREAM_SERVER = re.compile(r"^(\s*)server\s+api:8000(\s[^;]*)?;\s*$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen\s+80;\s*$", re.MULTILINE)


@cache
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return document


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def command(name: str) -> list[str]:
    """The arguments the service's container passes to ``storefront`` (the entrypoint)."""
    return [str(argument) for argument in service(name)["command"]]


def environment(name: str) -> dict[str, str]:
    """The service's settings: .env.example, then compose's own environment over it."""
    values = dict(env_example())
    values.update({key: str(value) for key, value in service(name)["environment"].items()})
    return values


def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


def interpolated_variables() -> set[str]:
    """The ``${NAME}`` variables compose.yaml substitutes (from deploy/.env)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE_FILE.read_text(encoding="utf-8")))


def with_option(arguments: Sequence[str], option: str, value: str) -> list[str]:
    """``arguments`` with ``option``'s value replaced (the option must be there)."""
    result = list(arguments)
    result[result.index(option) + 1] = value
    return result


def on_this_machine(settings: Mapping[str, str], **addresses: str) -> dict[str, str]:
    """``settings`` with the container addresses replaced (every one of them given)."""
    assert set(addresses) == set(ADDRESS_SETTINGS), sorted(addresses)
    return {**settings, **addresses}


def nginx_conf(listen_port: int, upstream_ports: Sequence[int]) -> str:
    """nginx.conf listening on ``listen_port``, its upstream the given local ports."""
    text = NGINX_CONF.read_text(encoding="utf-8")
    server = _UPSTREAM_SERVER.search(text)
    assert server is not None, "nginx.conf has no `server api:8000 ...;` upstream line"
    indent, parameters = server.group(1), server.group(2) or ""
    servers = "\n".join(f"{indent}server 127.0.0.1:{port}{parameters};" for port in upstream_ports)
    text = text[: server.start()] + servers + text[server.end() :]
    text, listens = _LISTEN.subn(rf"\g<1>listen 127.0.0.1:{listen_port};", text)
    assert listens == 1, "nginx.conf must have one `listen 80;`"
    return text


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def exec_form(arguments: str) -> list[str] | None:
    """The JSON array of an exec-form instruction, or None for the shell form."""
    try:
        parsed = json.loads(arguments)
    except ValueError:
        return None
    return [str(item) for item in parsed] if isinstance(parsed, list) else None
