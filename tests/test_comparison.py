"""``robot6 compare``: run summaries equal to what the CSVs say, and the plot."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from robot6_sb3.comparison import moving_average, summarize_run
from tests.helpers import TINY, load


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _two_runs(robot6, workdir: Path) -> tuple[str, str]:
    """A 4-episode run and a run forked from its ckpt_ep_2 that trains to 3 episodes."""
    assert robot6("train", "--episodes", "4", "--save-every", "2", *TINY).exit_code == 0
    (parent,) = [p.name for p in (workdir / "checkpoints").iterdir()]
    ckpt = workdir / "checkpoints" / parent / "ckpt_ep_2.pth"
    result = robot6("train", "--resume-ckpt", str(ckpt), "--episodes", "3", *TINY)
    assert result.exit_code == 0, result.output
    (child,) = [p.name for p in (workdir / "checkpoints").iterdir() if p.name != parent]
    return parent, child


def test_compare_values_equal_those_computed_from_the_csvs(robot6, workdir: Path) -> None:
    parent, child = _two_runs(robot6, workdir)

    result = robot6("compare", "--json")

    assert result.exit_code == 0, result.output
    summaries = {entry["run"]: entry for entry in json.loads(result.stdout)["runs"]}
    assert list(summaries) == [child, parent], "newest run first"
    for run, expected_parent in ((parent, None), (child, parent)):
        rows = _csv_rows(workdir / "runs" / run / "training.csv")
        rewards = [float(row["episode_reward"]) for row in rows]
        successes = [int(row["success"]) for row in rows]
        latest = load(workdir / "checkpoints" / run / "latest.pth")
        assert summaries[run] == {
            "run": run,
            "episodes": len(rows),
            "global_step": int(rows[-1]["global_step"]),
            "best_reward": max(rewards),
            "mean_reward": statistics.fmean(rewards),
            "success_rate": statistics.fmean(successes),
            "wall_time_s": latest["wall_time_s"],
            "parent": expected_parent,
            "skipped": [],
        }
    assert summaries[parent]["episodes"] == 4 and summaries[child]["episodes"] == 3
    assert summaries[child]["global_step"] == 150


def test_compare_table_shows_each_run(robot6, workdir: Path) -> None:
    parent, child = _two_runs(robot6, workdir)

    result = robot6("compare", parent, child)

    assert result.exit_code == 0, result.output
    rewards = [
        float(row["episode_reward"])
        for row in _csv_rows(workdir / "runs" / parent / "training.csv")
    ]
    lines = {line.split()[1]: line for line in result.stdout.splitlines() if "sac_" in line}
    assert set(lines) == {parent, child}
    assert f"{max(rewards):.4f}" in lines[parent]
    assert lines[child].rstrip(" │").endswith(parent), "a forked run names its parent"


def test_mean_and_success_cover_the_last_100_episodes(workdir: Path) -> None:
    folder = workdir / "runs" / "sac_20250101-000000"
    folder.mkdir(parents=True)
    with open(folder / "training.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["episode", "global_step", "episode_reward", "episode_length", "success"])
        for episode in range(150):
            writer.writerow([episode, 50 * (episode + 1), -float(episode), 50, int(episode >= 120)])

    summary = summarize_run("sac_20250101-000000", workdir / "checkpoints", workdir / "runs")

    assert summary.episodes == 150 and summary.global_step == 7500
    assert summary.best_reward == 0.0
    assert summary.mean_reward == -99.5  # episodes 50..149
    assert summary.success_rate == 0.3  # 30 of the last 100
    assert summary.wall_time_s is None and summary.parent is None


def test_moving_average_uses_the_episodes_so_far_at_the_start() -> None:
    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]
    assert moving_average([1.0, 3.0, 5.0], 10) == [1.0, 2.0, 3.0]


def test_plot_is_a_png_of_the_requested_size_with_one_line_per_run(robot6, workdir: Path) -> None:
    _two_runs(robot6, workdir)

    result = robot6("compare", "--plot", "out.png", "--plot-size", "640x480", "--smooth", "2")

    assert result.exit_code == 0, result.output
    with Image.open(workdir / "out.png") as image:
        assert image.format == "PNG"
        assert image.size == (640, 480)
        pixels = np.asarray(image.convert("RGB")).astype(int)
    assert pixels.std() > 10, "not blank"
    for color in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):  # matplotlib's first two lines
        assert (np.abs(pixels - color).sum(axis=2) < 30).sum() > 20, f"no line in {color}"


def test_bad_input_exits_2_and_writes_nothing(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    (workdir / "afile").write_text("x")
    for args, message in (
        (("sac_20000101-000000",), "no run named sac_20000101-000000"),
        (("--plot", "missing/out.png"), "missing does not exist"),
        (("--plot", "afile/out.png"), "afile is not a folder"),
        (("--plot", "out.jpg"), "must end with .png"),
        (("--plot", "out.png", "--plot-size", "640"), "WIDTHxHEIGHT"),
        (("--smooth", "0"), "--smooth must be at least 1"),
    ):
        result = robot6("compare", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert not list(workdir.glob("*.png")) and not list(workdir.glob("*.jpg"))


def test_no_runs_is_a_message_not_an_error(robot6, workdir: Path) -> None:
    result = robot6("compare")

    assert result.exit_code == 0
    assert "No runs in checkpoints/ or runs/ yet" in result.stdout
    assert robot6("compare", "--plot", "out.png").exit_code == 2


def test_a_damaged_csv_row_costs_only_itself_and_is_named(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", *TINY)
    robot6("train", "--episodes", "2", *TINY, "--seed", "5")
    damaged = sorted((workdir / "runs").iterdir())[0] / "training.csv"
    lines = damaged.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[2], "lots", 1)
    damaged.write_text("\n".join(lines) + "\n")

    result = robot6("compare", "--json")

    assert result.exit_code == 0, result.output
    assert (
        f"warning: runs/{damaged.parent.name}/training.csv, line 3: episode_reward is 'lots', not a number; skipped"
        in result.stderr
    )
    runs = {run["run"]: run for run in json.loads(result.stdout)["runs"]}
    assert runs[damaged.parent.name]["episodes"] == 2 and len(runs) == 2
