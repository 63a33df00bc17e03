"""``robot6 prune`` and ``robot6 train --keep-last``: exactly which files go and which stay."""

from __future__ import annotations

import csv
from pathlib import Path

from robot6_sb3.layout import LOG_ALPHA, STATE_DICT_KEYS
from robot6_sb3.pruning import apply_prune, keep_last_periodic, plan_prune
from robot6_sb3.run_lock import RunLock
from tests.helpers import TINY, assert_same_tensors, load, only_run, tree_bytes

OLDEST, OLD, NEWEST = "sac_20000101-000000", "sac_20000102-000000", "sac_20990101-000000"


def _fake_run(workdir: Path, name: str) -> None:
    """A run folder pair with a file in each (enough for prune, which only lists them)."""
    for root in ("checkpoints", "runs"):
        (workdir / root / name).mkdir(parents=True)
    (workdir / "checkpoints" / name / "latest.pth").write_bytes(b"not loadable")
    (workdir / "runs" / name / "training.csv").write_text("episode,global_step,episode_reward\n")


def _setup(robot6, workdir: Path) -> tuple[str, str]:
    assert robot6("train", "--episodes", "3", "--save-every", "1", *TINY).exit_code == 0
    parent = only_run(workdir / "checkpoints").name
    ckpt = workdir / "checkpoints" / parent / "ckpt_ep_1.pth"
    assert robot6("train", "--resume-ckpt", str(ckpt), "--episodes", "2", *TINY).exit_code == 0
    (child,) = [p.name for p in (workdir / "checkpoints").iterdir() if p.name != parent]
    for name in (OLDEST, OLD, NEWEST):
        _fake_run(workdir, name)
    return parent, child


def test_dry_run_lists_what_would_go_and_changes_nothing(robot6, workdir: Path) -> None:
    parent, child = _setup(robot6, workdir)

    with RunLock(workdir / "checkpoints" / OLD / ".lock"):
        before = tree_bytes(workdir / "checkpoints", workdir / "runs")
        result = robot6("prune", "--keep-runs", "2", "--dry-run")
        after = tree_bytes(workdir / "checkpoints", workdir / "runs")

    assert result.exit_code == 0, result.output
    assert after == before
    lines = result.stdout.splitlines()
    assert f"keep    {NEWEST}: one of the 2 newest" in lines
    assert f"keep    {child}: one of the 2 newest" in lines
    assert f"keep    {OLD}: locked: a process is writing it" in lines
    assert any(line.startswith(f"keep    {parent}: needed by {child}") for line in lines)
    assert [line.split()[2] for line in lines if line.startswith("would remove")] == [OLDEST]
    assert "Dry run: 1 runs" in result.stdout


def test_prune_removes_exactly_the_old_runs_and_logs_only_when_asked(robot6, workdir: Path) -> None:
    parent, child = _setup(robot6, workdir)

    with RunLock(workdir / "checkpoints" / OLD / ".lock"):
        result = robot6("prune", "--keep-runs", "2")

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == sorted(
        [parent, child, OLD, NEWEST]
    )
    assert (workdir / "runs" / OLDEST).is_dir(), "logs stay without --logs"
    assert "Removed 1 runs" in result.stdout

    result = robot6("prune", "--keep-runs", "2", "--logs")

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (workdir / "runs").iterdir()) == sorted([parent, child, NEWEST])
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == sorted(
        [parent, child, NEWEST]
    ), "OLD is no longer locked, so it goes now"
    # The kept child still resumes: the parent's replay log it reads is there.
    child_latest = workdir / "checkpoints" / child / "latest.pth"
    result = robot6("train", "--resume-ckpt", str(child_latest), "--episodes", "3", *TINY)
    assert result.exit_code == 0, result.output


def test_a_run_locked_after_planning_is_not_removed(workdir: Path) -> None:
    for name in (OLDEST, NEWEST):
        _fake_run(workdir, name)
    plan = plan_prune(workdir / "checkpoints", workdir / "runs", keep_runs=1, logs=True)
    assert [d.run for d in plan.removed] == [OLDEST]

    with RunLock(workdir / "checkpoints" / OLDEST / ".lock"):
        done = apply_prune(plan, workdir / "checkpoints")

    assert done == []
    assert (workdir / "checkpoints" / OLDEST).is_dir() and (workdir / "runs" / OLDEST).is_dir()


def test_keep_runs_below_one_exits_2(robot6, workdir: Path) -> None:
    _fake_run(workdir, OLDEST)
    for value in ("0", "-1"):
        result = robot6("prune", "--keep-runs", value)
        assert result.exit_code == 2
        assert f"--keep-runs must be at least 1, got {value}" in result.stderr
    assert (workdir / "checkpoints" / OLDEST).is_dir()


def test_keep_last_periodic_keeps_the_highest_episodes(tmp_path: Path) -> None:
    for name in ("latest.pth", "best.pth", *(f"ckpt_ep_{n}.pth" for n in (1, 2, 9, 10, 20))):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "replay").mkdir()

    removed = keep_last_periodic(tmp_path, 2)

    assert sorted(p.name for p in removed) == ["ckpt_ep_1.pth", "ckpt_ep_2.pth", "ckpt_ep_9.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pth",
        "ckpt_ep_10.pth",
        "ckpt_ep_20.pth",
        "latest.pth",
        "replay",
    ]


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as handle:
        return list(csv.reader(handle))


def test_keep_last_during_training_leaves_two_and_the_run_resumes_exactly(
    robot6, workdir: Path
) -> None:
    result = robot6("train", "--episodes", "6", "--save-every", "1", "--keep-last", "2", *TINY)

    assert result.exit_code == 0, result.output
    run = only_run(workdir / "checkpoints")
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == [
        ".lock",
        "best.pth",
        "ckpt_ep_5.pth",
        "ckpt_ep_6.pth",
        "latest.pth",
        "run.json",
    ]

    resumed = robot6("train", "--resume", "--episodes", "8", "--save-every", "1", *TINY)
    reference = robot6(
        "train", "--episodes", "8", "--save-every", "1", *TINY,
        "--checkpoints-dir", "ref/checkpoints", "--runs-dir", "ref/runs",
    )  # fmt: skip

    assert resumed.exit_code == 0 and reference.exit_code == 0, resumed.output + reference.output
    assert only_run(workdir / "checkpoints") == run
    ref_run = only_run(workdir / "ref" / "checkpoints")
    assert _csv(workdir / "runs" / run.name / "training.csv") == _csv(
        workdir / "ref" / "runs" / ref_run.name / "training.csv"
    )
    ours, theirs = load(run / "latest.pth"), load(ref_run / "latest.pth")
    for key in (*STATE_DICT_KEYS, LOG_ALPHA, "global_step", "episode", "best_reward"):
        assert_same_tensors(ours[key], theirs[key], key)


def test_keep_last_below_one_exits_2(robot6, workdir: Path) -> None:
    result = robot6("train", "--episodes", "2", "--keep-last", "0", *TINY)

    assert result.exit_code == 2
    assert "--keep-last must be at least 1, got 0" in result.stderr
    assert not (workdir / "checkpoints").exists()
