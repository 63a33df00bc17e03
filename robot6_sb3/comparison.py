"""Comparing runs: a summary per run from its ``training.csv`` and checkpoints, and a plot of
smoothed reward and success rate against ``global_step`` (``robot6 compare``)."""

from __future__ import annotations

import io
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.checkpoint import load_checkpoint, metadata_of
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.discovery import resume_candidates
from robot6_sb3.errors import CheckpointError, UsageError
from robot6_sb3.layout import CSV_NAME, WALL_TIME, run_time
from robot6_sb3.training_csv import episode_rows

RECENT_EPISODES = 100
"""Mean reward and success rate are taken over this many last episodes."""


@dataclass
class RunHistory:
    """One run's episodes as its CSV records them (forked runs include their parent's rows
    before the fork)."""

    run: str
    global_steps: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    successes: list[bool | None] = field(default_factory=list)
    """``None`` where the env reported no success flag."""
    skipped: list[str] = field(default_factory=list)
    """A note (file and line) for each damaged row left out."""


@dataclass(frozen=True)
class RunSummary:
    """What ``robot6 compare`` shows for one run."""

    run: str
    episodes: int
    global_step: int
    best_reward: float | None
    """Best episode reward in the CSV (``None`` before the first episode)."""
    mean_reward: float | None
    """Mean episode reward over the last :data:`RECENT_EPISODES` episodes."""
    success_rate: float | None
    """Fraction of successful episodes among the last :data:`RECENT_EPISODES` (``None`` when
    the env reports no success)."""
    wall_time_s: float | None
    """Training time recorded in the run's newest loadable checkpoint."""
    parent: str | None
    """The run this one was forked from."""
    skipped: list[str] = field(default_factory=list)
    """A note (file and line) for each damaged CSV row left out."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def find_runs(checkpoints_dir: Path, runs_dir: Path, names: list[str] | None = None) -> list[str]:
    """Run names to compare: ``names`` (checked to exist), or every run, newest first.

    :param checkpoints_dir: folder of the runs' checkpoint folders
    :param runs_dir: folder of the runs' log folders
    :param names: run names (a path to a run folder also works); ``None`` for all runs
    :raises UsageError: naming each run that has neither a checkpoint folder nor a CSV
    """
    checkpoints_dir, runs_dir = Path(checkpoints_dir), Path(runs_dir)
    if names:
        runs = list(dict.fromkeys(Path(name).name for name in names))
        missing = [
            run
            for run in runs
            if not (checkpoints_dir / run).is_dir() and not (runs_dir / run / CSV_NAME).is_file()
        ]
        if missing:
            raise UsageError(
                f"no run named {', '.join(missing)}: neither {checkpoints_dir}/<run>/ nor "
                f"{runs_dir}/<run>/{CSV_NAME} exists; `robot6 list-checkpoints` shows the runs"
            )
        return runs
    found: set[str] = set()
    if checkpoints_dir.is_dir():
        found |= {path.name for path in checkpoints_dir.iterdir() if path.is_dir()}
    if runs_dir.is_dir():
        found |= {path.name for path in runs_dir.iterdir() if (path / CSV_NAME).is_file()}
    return sorted(found, key=lambda name: (run_time(name) or datetime.min, name), reverse=True)


def read_history(run: str, runs_dir: Path) -> RunHistory:
    """The episodes of ``run`` from ``runs_dir/<run>/training.csv`` (none if it is missing);
    damaged rows are left out and noted in ``skipped``."""
    rows, skipped = episode_rows(Path(runs_dir) / run / CSV_NAME)
    history = RunHistory(run, skipped=skipped)
    for row in rows:
        history.global_steps.append(int(row["global_step"]))
        history.rewards.append(float(row["episode_reward"]))
        success = (row.get("success") or "").strip()
        history.successes.append(None if success == "" else success not in ("0", "False"))
    return history


def summarize_run(run: str, checkpoints_dir: Path, runs_dir: Path) -> RunSummary:
    """Summary of ``run`` from its CSV, plus wall time and parent from its newest loadable
    checkpoint.

    :param run: the run name
    :param checkpoints_dir: folder of the runs' checkpoint folders
    :param runs_dir: folder of the runs' log folders
    """
    history = read_history(run, runs_dir)
    recent = slice(-RECENT_EPISODES, None)
    flags = [flag for flag in history.successes[recent] if flag is not None]
    wall_time, parent = None, None
    for path in resume_candidates(Path(checkpoints_dir) / run):
        try:
            checkpoint = load_checkpoint(path)
        except CheckpointError:
            continue
        wall_time = checkpoint.get(WALL_TIME)
        parent = metadata_of(checkpoint).parent_run
        break
    return RunSummary(
        run=run,
        episodes=len(history.rewards),
        global_step=history.global_steps[-1] if history.global_steps else 0,
        best_reward=max(history.rewards) if history.rewards else None,
        mean_reward=_mean(history.rewards[recent]),
        success_rate=_mean([float(flag) for flag in flags]),
        wall_time_s=None if wall_time is None else float(wall_time),
        parent=parent,
        skipped=history.skipped,
    )


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over up to ``window`` values (fewer at the start)."""
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return [
        (sums[i + 1] - sums[max(0, i + 1 - window)]) / min(i + 1, window)
        for i in range(len(values))
    ]


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x800"`` -> ``(1200, 800)``.

    :raises UsageError: for anything but two positive integers joined by ``x``
    """
    parts = text.lower().split("x")
    try:
        width, height = (int(part) for part in parts)
    except ValueError:
        width = height = 0
    if not (50 <= width <= 10_000 and 50 <= height <= 10_000):
        raise ConfigError(
            "plot_size",
            f"takes WIDTHxHEIGHT in pixels, each 50 to 10000, like 1200x800; got {text!r}",
        )
    return width, height


def plot_runs(
    histories: list[RunHistory],
    path: Path,
    size: tuple[int, int] = (1200, 800),
    window: int = 20,
    labels: dict[str, str] | None = None,
) -> None:
    """Write a PNG of smoothed episode reward (top) and success rate (bottom) against
    ``global_step``, one line per run, atomically.

    :param histories: the runs to draw
    :param path: the PNG file
    :param size: (width, height) in pixels
    :param window: episodes in the moving average
    :param labels: legend text per run name (default: the run name)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 100
    figure = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    reward_axes, success_axes = figure.subplots(2, 1, sharex=True)
    for history in histories:
        label = (labels or {}).get(history.run, history.run)
        (line,) = reward_axes.plot(
            history.global_steps, moving_average(history.rewards, window), label=label
        )
        points = [
            (step, float(flag))
            for step, flag in zip(history.global_steps, history.successes, strict=True)
            if flag is not None
        ]
        if points:
            steps, flags = zip(*points, strict=True)
            success_axes.plot(
                steps, moving_average(list(flags), window), color=line.get_color(), label=label
            )
    reward_axes.set_title(f"Episode reward and success rate (moving average of {window} episodes)")
    reward_axes.set_ylabel("episode reward")
    success_axes.set_ylabel("success rate")
    success_axes.set_ylim(-0.05, 1.05)
    success_axes.set_xlabel("global_step")
    for axes in (reward_axes, success_axes):
        axes.grid(alpha=0.3)
    reward_axes.legend(loc="best", fontsize="small")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(Path(path), buffer.getvalue())
