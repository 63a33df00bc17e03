"""``robot6 list-checkpoints``, ``inspect`` and ``export``: what a run's checkpoint files hold,
and a checkpoint as a plain Stable-Baselines3 model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from robot6_sb3.cli.app import (
    CheckpointsDir,
    JsonOption,
    app,
    check_output_path,
    errors_to_exit_codes,
    human_size,
    out,
    shown,
)
from robot6_sb3.cli.signals import signals_held
from robot6_sb3.layout import DEFAULT_CHECKPOINTS_DIR

if TYPE_CHECKING:
    from robot6_sb3.inspection import CheckpointSummary
    from robot6_sb3.listing import CheckpointEntry


def _human_age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _exact_column(entry: CheckpointEntry) -> str | Text:
    if entry.error is not None:
        return Text(f"unreadable: {entry.error}", style="red")
    exact = "yes" if entry.exact else f"no: {entry.exact_reason}"
    return exact + (f" ({entry.foreign})" if entry.foreign else "")


@app.command("list-checkpoints")
def list_checkpoints_command(
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    as_json: JsonOption = False,
) -> None:
    """List every run's checkpoints and mark the one `robot6 train --resume` would pick."""
    with signals_held():
        from robot6_sb3.listing import list_checkpoints

    listing = list_checkpoints(checkpoints_dir)
    if as_json:
        print(json.dumps(listing.to_dict(), indent=2))
        return
    if not any(run.files for run in listing.runs):
        out.print(f"No checkpoints in {checkpoints_dir}/ yet; start a run with: robot6 train")
        return
    table = Table(title=f"Checkpoints in {checkpoints_dir}/", title_justify="left")
    for column in ("run", "file", "episode", "global_step", "best_reward", "size", "age", "exact"):
        numeric = column in ("episode", "global_step", "best_reward", "size")
        table.add_column(column, justify="right" if numeric else "left")
    for run in listing.runs:
        for entry in run.files:
            table.add_row(
                run.run,
                entry.file + ("  <- --resume" if entry.resume_pick else ""),
                "-" if entry.episode is None else str(entry.episode),
                "-" if entry.global_step is None else str(entry.global_step),
                "-" if entry.best_reward is None else f"{entry.best_reward:.4f}",
                human_size(entry.size_bytes),
                _human_age(entry.age_seconds),
                _exact_column(entry),
            )
    out.print(table)
    if listing.resume_pick is None:
        out.print("Nothing loadable: robot6 train --resume would start from scratch.")


@app.command()
def export(
    ckpt: Annotated[
        Path, typer.Argument(metavar="CKPT", help="The robot6 checkpoint (.pth) to export.")
    ],
    out_path: Annotated[
        Path,
        typer.Argument(
            metavar="OUT.zip", help="The Stable-Baselines3 model zip to write (SAC.load/TQC.load)."
        ),
    ],
) -> None:
    """Write a checkpoint as a Stable-Baselines3 zip that SAC.load (or TQC.load) opens."""
    with signals_held():
        from robot6_sb3.export import export_sb3, max_prediction_difference

    with errors_to_exit_codes():
        check_output_path(out_path, (".zip",), "OUT")
        model = export_sb3(ckpt, out_path)
        difference = max_prediction_difference(model, out_path)
    algo = type(model).__name__
    agreement = "identical to" if difference == 0 else f"within {difference:g} of"
    out.print(
        f"Wrote {shown(out_path)}; load it with {algo}.load({str(out_path)!r}). Checked: its "
        f"deterministic actions on 100 random observations are {agreement} the checkpoint's."
    )


def _clock(seconds: float | None) -> str:
    """Seconds as h:mm:ss."""
    if seconds is None:
        return "-"
    minutes, second = divmod(round(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"


def _summary_rows(summary: CheckpointSummary) -> list[tuple[str, str]]:
    metadata, counters = summary.metadata, summary.counters
    parent = metadata["parent"]
    run = f"{metadata['run_name']} (id {metadata['run_id']})"
    if parent:
        run += f", forked from {parent['run']} at episode {parent['episode']}"
    net = (metadata["model_kwargs"].get("policy_kwargs") or {}).get("net_arch", "default")
    rows = [
        ("run", run),
        (
            "algorithm",
            f"{metadata['algo'].upper()} on {metadata['env_id']}, {metadata['n_envs']} env(s) "
            f"({metadata['vec_env']}), net {net}, {metadata['engine']} engine",
        ),
        (
            "progress",
            f"episode {counters['episode']}, global_step {counters['global_step']:,}, best "
            f"reward {counters['best_reward']:.4f}, {_clock(counters['wall_time_s'])} of training",
        ),
        ("exact resume", ("yes: " if summary.exact else "no: ") + summary.exact_reason),
        (
            "sizes",
            f"this file {human_size(summary.size_bytes)}; replay log "
            + (
                "none"
                if summary.replay_bytes is None
                else f"{human_size(summary.replay_bytes)} for {summary.replay_transitions:,} rows"
            ),
        ),
    ]
    if summary.foreign:
        rows.append(("run folder", summary.foreign))
    return rows


@app.command()
def inspect(
    ckpt: Annotated[
        Path, typer.Argument(metavar="CKPT", help="The robot6 checkpoint (.pth) to describe.")
    ],
    tensors: Annotated[
        bool, typer.Option("--tensors", help="Also list every tensor with its shape and dtype.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show what a checkpoint holds: its run, progress, whether resuming it is exact, its
    settings, and (with --tensors) its tensors."""
    with signals_held():
        from robot6_sb3.inspection import inspect_checkpoint

    with errors_to_exit_codes():
        summary = inspect_checkpoint(ckpt)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    table = Table(title=shown(Path(summary.path)), title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for row in _summary_rows(summary):
        table.add_row(*row)
    out.print(table)
    metadata = summary.metadata
    details = Table(title="Settings", title_justify="left", show_header=False)
    details.add_column("field")
    details.add_column("value", overflow="fold")
    for name, value in (metadata["model_kwargs"] or {}).items():
        details.add_row(name, str(value))
    details.add_row("env_kwargs", str(metadata["env_kwargs"]))
    details.add_row("seed", str(metadata["seed"]))
    details.add_row("run settings", str(metadata["settings"]))
    details.add_row("created", str(metadata["created"]))
    details.add_row("versions", ", ".join(f"{k} {v}" for k, v in metadata["versions"].items()))
    out.print(details)
    if not tensors:
        out.print(f"{len(summary.tensors)} tensors; --tensors lists them.")
        return
    listing = Table(title="Tensors", title_justify="left")
    for column in ("key", "shape", "dtype"):
        listing.add_column(column)
    for info in summary.tensors:
        listing.add_row(info.key, "x".join(map(str, info.shape)) or "scalar", info.dtype)
    out.print(listing)
