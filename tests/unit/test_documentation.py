"""The documentation a clone carries is whole: its links resolve, and it names no one's machine."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPOSITORY = Path(__file__).resolve().parents[2]
SKIPPED_FOLDERS = {".git", ".venv", ".tox", "build", "dist", "__pycache__"}

# [text](target) and [text]: target, outside code; the target up to a space or ")".
_INLINE_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
_FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//|#)")

# Paths that exist on one machine only (a workspace, a home folder) or outside the clone.
# Assembled from parts so that this file does not name them itself.
_MACHINE_PATHS = re.compile(
    "|".join(
        (
            "/" + "work/",
            "/" + "home/[a-z_]",
            "/" + "root/",
            "/" + "Users/[A-Za-z]",
            r"\.\./" + "shared",
            "[A-Z]:" + r"\\\\Users",
        )
    )
)


def _documents() -> list[Path]:
    return [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").rglob("*.md"))]


def _link_targets(markdown: str) -> list[str]:
    prose = _CODE_SPAN.sub("", _FENCED_CODE.sub("", markdown))
    return [*_INLINE_LINK.findall(prose), *_REFERENCE_LINK.findall(prose)]


def _tracked_files() -> list[Path]:
    git = shutil.which("git")
    if git is not None and (REPOSITORY / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z"], cwd=REPOSITORY, capture_output=True, check=True
        ).stdout
        return [REPOSITORY / name for name in listed.decode().split("\0") if name]
    return [
        path
        for path in REPOSITORY.rglob("*")
        if path.is_file() and not SKIPPED_FOLDERS.intersection(path.relative_to(REPOSITORY).parts)
    ]


def test_the_readme_and_docs_exist() -> None:
    for name in ("README.md", "docs/architecture.md", "docs/api.md", "docs/adr/README.md"):
        assert (REPOSITORY / name).is_file(), name


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda path: str(path.relative_to(REPOSITORY))
)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    broken = []
    for target in _link_targets(document.read_text(encoding="utf-8")):
        if _EXTERNAL.match(target):
            continue
        path = (document.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(REPOSITORY) or not path.exists():
            broken.append(target)
    assert broken == [], f"{document.name}: links that do not resolve in a clone: {broken}"


def test_link_checking_sees_the_links_it_must() -> None:
    markdown = "[a](docs/a.md) `[b](b.md)`\n[c]: c.md\n```\n[d](d.md)\n```\n[e](https://x.org)"
    assert _link_targets(markdown) == ["docs/a.md", "https://x.org", "c.md"]


def test_no_tracked_file_names_a_path_of_one_machine() -> None:
    offenders = []
    for path in _tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if _MACHINE_PATHS.search(line):
                offenders.append(f"{path.relative_to(REPOSITORY)}:{number}: {line.strip()}")
    assert offenders == []


def _quick_start_commands() -> list[str]:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_installs_and_tests_in_two_pinned_commands_ci_runs_verbatim() -> None:
    commands = _quick_start_commands()

    assert len(commands) == 2, commands
    assert all("-c constraints.txt" in command for command in commands)
    assert commands[1] in (REPOSITORY / ".ci" / "run").read_text(encoding="utf-8")


def test_every_declared_dependency_is_pinned_in_the_constraints_file() -> None:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    declared = [
        *project["project"]["dependencies"],
        *(item for extra in project["project"]["optional-dependencies"].values() for item in extra),
    ]
    pinned = {
        canonicalize_name(line.split("==", 1)[0])
        for line in (REPOSITORY / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    names = {canonicalize_name(Requirement(item).name) for item in declared} - {"storefront"}

    assert names - pinned == set(), "refresh constraints.txt (docs/CONTRIBUTING.md)"
