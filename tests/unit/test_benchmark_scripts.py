"""tests/benchmarks/prepare and start find Storefront without a virtual environment too."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


def _checkout_without_venv(tmp_path: Path) -> Path:
    """A copy of the two scripts in a checkout that has no ``.venv``."""
    folder = tmp_path / "checkout" / "tests" / "benchmarks"
    folder.mkdir(parents=True)
    for name in ("prepare", "start"):
        shutil.copy2(SCRIPTS / name, folder / name)
    return folder


def _path_with_fake_storefront(tmp_path: Path, exit_code: int) -> tuple[dict[str, str], Path]:
    """An environment whose PATH finds a ``storefront`` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    script = bin_dir / "storefront"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k != "STOREFRONT_VENV"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env, log


def test_start_serves_with_the_storefront_on_path_when_there_is_no_venv(tmp_path: Path) -> None:
    folder = _checkout_without_venv(tmp_path)
    env, log = _path_with_fake_storefront(tmp_path, exit_code=0)

    subprocess.run(
        [str(folder / "start")], env={**env, "PORT": "8123"}, check=True, capture_output=True
    )

    assert log.read_text().splitlines() == ["serve --host 127.0.0.1 --port 8123 --workers 1"]


def test_prepare_migrates_with_the_storefront_on_path_when_there_is_no_venv(
    tmp_path: Path,
) -> None:
    folder = _checkout_without_venv(tmp_path)
    # The fake fails, so prepare stops after its first step: the one that picks the CLI.
    env, log = _path_with_fake_storefront(tmp_path, exit_code=3)

    finished = subprocess.run(
        [str(folder / "prepare")],
        env={**env, "DATABASE_URL": "sqlite+aiosqlite:///unused.db"},
        capture_output=True,
    )

    assert finished.returncode == 3
    assert log.read_text().splitlines() == ["db upgrade"]
