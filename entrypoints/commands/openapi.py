"""``storefront openapi``: the OpenAPI document, without a database or settings."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from entrypoints.bootstrap import build_memory_container
from entrypoints.commands.common import CommandError
from entrypoints.settings import Settings


def openapi_document() -> dict[str, object]:
    """The OpenAPI document, built from the application without touching any database."""
    from entrypoints.http.app import create_app

    # The document depends on no setting; a throwaway key avoids reading or creating one.
    settings = Settings(secret_key=secrets.token_urlsafe(48))
    app = create_app(build_memory_container(settings))
    return app.openapi_schema.to_schema()


def write_openapi(output: str | None) -> int:
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
