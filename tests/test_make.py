"""The Makefile: an interpreter outside the declared range is refused before anything is
installed, with a message that names the supported version."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _other_pythons() -> list[Path]:
    """Interpreters of other versions this machine has (pyenv's), if any."""
    pyenv = Path.home() / ".pyenv" / "versions"
    found = sorted(pyenv.glob("3.*/bin/python3")) if pyenv.is_dir() else []
    return [path for path in found if not path.parent.parent.name.startswith("3.11")]


def test_the_declared_python_range_is_the_one_the_makefile_accepts() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.12"' in text
    assert "SUPPORTED_PYTHON := 3.11" in (ROOT / "Makefile").read_text()
    assert sys.version_info[:2] == (3, 11), "the suite itself runs on the supported Python"


@pytest.mark.parametrize("python", _other_pythons() or [None], ids=lambda p: str(p))
def test_an_unsupported_interpreter_is_refused_before_installing(
    python: Path | None, tmp_path: Path
) -> None:
    if python is None or shutil.which("make") is None:
        pytest.skip("no other Python (or no make) on this machine")
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)

    result = subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={python}", ".venv/.installed"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2, result.stdout + result.stderr
    assert (
        "robot6-sb3 needs Python 3.11" in result.stderr and "nothing was installed" in result.stderr
    )
    assert not (tmp_path / ".venv").exists()
