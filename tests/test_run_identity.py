"""Run identity: a checkpoint continues only the folders of its own run; a file copied into
another run's folder forks, and every command says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import TINY, load, tree_bytes


def _two_runs(robot6, workdir: Path) -> tuple[Path, Path]:
    assert robot6("train", "--episodes", "2", *TINY).exit_code == 0
    first = next((workdir / "checkpoints").iterdir())
    assert (
        robot6("train", "--episodes", "4", "--save-every", "2", *TINY, "--seed", "9").exit_code == 0
    )
    second = next(p for p in (workdir / "checkpoints").iterdir() if p != first)
    return first, second


def test_run_folders_say_whose_they_are(robot6, workdir: Path) -> None:
    first, _ = _two_runs(robot6, workdir)
    identity = json.loads((first / "run.json").read_text())
    logs = json.loads((workdir / "runs" / first.name / "run.json").read_text())

    assert (
        identity
        == logs
        == {"run_name": first.name, "run_id": load(first / "latest.pth")["metadata"]["run_id"]}
    )


def test_a_latest_copied_into_another_run_forks_and_leaves_that_run_alone(
    robot6, workdir: Path
) -> None:
    a, b = _two_runs(robot6, workdir)
    shutil.copy(a / "latest.pth", b / "latest.pth")  # the user's mistake
    before = tree_bytes(b, workdir / "runs" / b.name)

    listing = robot6("list-checkpoints")
    inspected = robot6("inspect", str(b / "latest.pth"))
    resumed = robot6("train", "--resume-ckpt", str(b / "latest.pth"), "--episodes", "3", *TINY)

    assert f"copied from run {a.name}" in " ".join(listing.stdout.split())
    assert f"copied from run {a.name}" in " ".join(inspected.stdout.split())
    assert resumed.exit_code == 0, resumed.output
    assert "forking a new run from it" in resumed.stdout
    assert tree_bytes(b, workdir / "runs" / b.name) == before, "run B untouched"
    fork = next(p for p in (workdir / "checkpoints").iterdir() if p not in (a, b))
    assert load(fork / "latest.pth")["metadata"]["parent"]["run"] == a.name
    own = robot6("train", "--resume-ckpt", str(b / "ckpt_ep_2.pth"), "--episodes", "3", *TINY)
    assert own.exit_code == 0, own.output  # B's own checkpoints still resume


def test_a_folder_of_the_same_name_from_another_run_is_never_continued(
    robot6, workdir: Path
) -> None:
    a, _ = _two_runs(robot6, workdir)
    (a / "run.json").write_text(json.dumps({"run_name": a.name, "run_id": "someone-else"}))
    before = tree_bytes(a, workdir / "runs" / a.name)

    result = robot6("train", "--resume-ckpt", str(a / "latest.pth"), "--episodes", "3", *TINY)

    assert result.exit_code == 0, result.output
    assert "forking a new run from it" in result.stdout
    assert tree_bytes(a, workdir / "runs" / a.name) == before
