"""``robot6 list-checkpoints``: every file, what --resume would pick, and JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import TINY, only_run


def test_empty_folder_prints_a_friendly_line(robot6, workdir: Path) -> None:
    result = robot6("list-checkpoints")

    assert result.exit_code == 0
    assert "No checkpoints in checkpoints/ yet; start a run with: robot6 train" in result.stdout


def test_lists_every_file_and_marks_the_resume_pick(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--save-every", "1", *TINY)
    run = only_run(workdir / "checkpoints")
    Path(run / "ckpt_ep_9.pth").write_bytes(b"truncated")

    table = robot6("list-checkpoints")
    data = json.loads(robot6("list-checkpoints", "--json").stdout)

    assert table.exit_code == 0
    for name in ("latest.pth", "best.pth", "ckpt_ep_1.pth", "ckpt_ep_2.pth", "ckpt_ep_9.pth"):
        assert name in table.stdout
    assert "latest.pth  <- --resume" in table.stdout
    assert "unreadable" in table.stdout
    assert data["resume_pick"] == f"checkpoints/{run.name}/latest.pth"
    files = {entry["file"]: entry for entry in data["runs"][0]["files"]}
    assert [name for name, entry in files.items() if entry["resume_pick"]] == ["latest.pth"]
    assert files["ckpt_ep_1.pth"]["episode"] == 1 and files["ckpt_ep_1.pth"]["global_step"] == 50
    assert files["latest.pth"]["exact"] is True
    assert "error" in files["ckpt_ep_9.pth"]


def test_resume_skips_an_unreadable_latest_and_says_which(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--save-every", "1", *TINY)
    run = only_run(workdir / "checkpoints")
    (run / "latest.pth").write_bytes((run / "latest.pth").read_bytes()[:1000])

    result = robot6("train", *TINY, "--resume", "--episodes", "3")

    assert result.exit_code == 0, result.output
    assert f"[RESUME] skipped checkpoints/{run.name}/latest.pth" in result.stderr
    assert f"[RESUME] Loaded checkpoints/{run.name}/ckpt_ep_2.pth: episode 2" in result.stdout
