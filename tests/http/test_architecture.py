"""The layer rules hold, and the generic top-level names resolve to this project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import entrypoints

REPOSITORY = Path(__file__).resolve().parents[2]


def test_entrypoints_is_this_projects_package() -> None:
    # `entrypoints` is also a distribution on the package index; ours must win.
    assert Path(entrypoints.__file__).resolve().is_relative_to(REPOSITORY)


def test_the_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    command = str(lint_imports) if lint_imports.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.fail("lint-imports (import-linter) is not installed")

    result = subprocess.run(
        [command, "--no-cache"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
