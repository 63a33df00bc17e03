"""The examples are real programs: they run, resume exactly, and the README shows them as they are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.layout import MODEL
from tests.helpers import assert_same_tensors

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "resumable_sac.py"


def _run_example(folder: Path, steps: int) -> str:
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLE),
            "--steps",
            str(steps),
            "--folder",
            str(folder),
            "--net-arch",
            "16",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'envs'}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_example_run_twice_is_the_example_run_once_for_as_long(tmp_path: Path) -> None:
    _run_example(tmp_path / "once", 1_400)
    _run_example(tmp_path / "twice", 600)
    second = _run_example(tmp_path / "twice", 800)

    assert "Resuming at step 600, episode 12" in second
    whole = load_checkpoint(tmp_path / "once" / "checkpoints" / "latest.pth")
    resumed = load_checkpoint(tmp_path / "twice" / "checkpoints" / "latest.pth")
    assert whole["episode"] == resumed["episode"] == 28
    assert_same_tensors(whole[MODEL], resumed[MODEL])
    assert (tmp_path / "once" / "logs" / "training.csv").read_bytes() == (
        tmp_path / "twice" / "logs" / "training.csv"
    ).read_bytes()


def test_the_readme_shows_the_example_as_it_is() -> None:
    readme = (ROOT / "README.md").read_text()
    code = EXAMPLE.read_text()
    body = code[code.index("from __future__") :]
    assert body in readme, (
        "README's 'Use it in your own SB3 script' must show examples/resumable_sac.py"
    )
