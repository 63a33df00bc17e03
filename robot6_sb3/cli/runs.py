"""``robot6 compare`` and ``robot6 prune``: runs side by side, and old runs removed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from robot6_sb3.cli.app import (
    CheckpointsDir,
    JsonOption,
    RunsDir,
    app,
    check_output_path,
    err,
    errors_to_exit_codes,
    human_size,
    out,
    shown,
)
from robot6_sb3.cli.signals import signals_held
from robot6_sb3.errors import UsageError
from robot6_sb3.layout import DEFAULT_CHECKPOINTS_DIR, DEFAULT_RUNS_DIR


def _number(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


@app.command()
def compare(
    runs: Annotated[
        list[str] | None,
        typer.Argument(help="Run names to compare (default: every run).", show_default=False),
    ] = None,
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also write a PNG of smoothed episode reward and success rate against global_step."
        ),
    ] = None,
    plot_size: Annotated[
        str, typer.Option(help="Size of the --plot image in pixels, WIDTHxHEIGHT.")
    ] = "1200x800",
    smooth: Annotated[
        int, typer.Option(help="Episodes in the moving average drawn by --plot.")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """Compare runs: episodes, steps, best reward, recent mean reward and success rate."""
    with signals_held():
        from robot6_sb3.comparison import (
            RECENT_EPISODES,
            find_runs,
            parse_size,
            plot_runs,
            read_history,
            summarize_run,
        )

    with errors_to_exit_codes():
        size = parse_size(plot_size)
        if smooth < 1:
            raise UsageError(f"--smooth must be at least 1 episode, got {smooth}")
        if plot is not None:
            check_output_path(plot, (".png",), "--plot")
        names = find_runs(checkpoints_dir, runs_dir, runs)
        if not names and plot is not None:
            raise UsageError(
                f"--plot {plot}: there are no runs in {checkpoints_dir}/ or {runs_dir}/ to draw"
            )
        summaries = [summarize_run(name, checkpoints_dir, runs_dir) for name in names]
        for note in (note for summary in summaries for note in summary.skipped):
            err.print(f"warning: {note}")
        if plot is not None:
            labels = {
                s.run: s.run + (f" (fork of {s.parent})" if s.parent else "") for s in summaries
            }
            histories = [read_history(name, runs_dir) for name in names]
            plot_runs(histories, plot, size=size, window=smooth, labels=labels)
    if as_json:
        print(json.dumps({"runs": [s.to_dict() for s in summaries]}, indent=2))
        return
    if not summaries:
        out.print(f"No runs in {checkpoints_dir}/ or {runs_dir}/ yet; start one with: robot6 train")
        return
    table = Table(title=f"Runs (mean reward and success over the last {RECENT_EPISODES} episodes)")
    for column in (
        "run",
        "episodes",
        "steps",
        "best reward",
        "mean reward",
        "success",
        "wall time",
    ):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_column("parent")
    for s in summaries:
        table.add_row(
            s.run,
            str(s.episodes),
            str(s.global_step),
            _number(s.best_reward),
            _number(s.mean_reward),
            "-" if s.success_rate is None else f"{s.success_rate:.0%}",
            _minutes(s.wall_time_s),
            s.parent or "",
        )
    out.print(table)
    if plot is not None:
        out.print(f"Plot written to {shown(plot)}")


@app.command()
def prune(
    keep_runs: Annotated[
        int, typer.Option(help="How many of the newest runs to keep (at least 1).")
    ] = 5,
    logs: Annotated[
        bool,
        typer.Option(help="Also remove the old runs' log folders (CSV and TensorBoard events)."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option(help="Only list what would be removed; remove nothing.")
    ] = False,
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    runs_dir: RunsDir = DEFAULT_RUNS_DIR,
) -> None:
    """Remove old runs, keeping the newest, any run being written and any run a kept run needs."""
    with signals_held():
        from robot6_sb3.pruning import apply_prune, plan_prune

    with errors_to_exit_codes():
        plan = plan_prune(checkpoints_dir, runs_dir, keep_runs=keep_runs, logs=logs)
        for decision in plan.kept:
            out.print(f"keep    {decision.run}: {decision.reason}")
        verb = "would remove" if dry_run else "remove"
        for decision in plan.removed:
            folders = ", ".join(shown(folder) for folder in decision.folders)
            out.print(f"{verb:<7} {decision.run} ({human_size(decision.size_bytes)}): {folders}")
        if dry_run:
            freed = sum(d.size_bytes for d in plan.removed)
            out.print(
                f"Dry run: {len(plan.removed)} runs ({human_size(freed)}) would be removed; "
                "nothing was changed."
            )
            return
        done = apply_prune(plan, checkpoints_dir)
    for decision in plan.removed:
        if decision not in done:
            out.print(f"kept    {decision.run}: it became locked while pruning")
    freed = sum(d.size_bytes for d in done)
    out.print(f"Removed {len(done)} runs ({human_size(freed)}).")
