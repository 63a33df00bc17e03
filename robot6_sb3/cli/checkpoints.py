"""``robot6 list-checkpoints``, ``inspect`` and ``export``: what a run's checkpoint files hold,
and a checkpoint as a plain Stable-Baselines3 model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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
from robot6_sb3.export import export_sb3, max_prediction_difference
from robot6_sb3.inspection import inspect_checkpoint
from robot6_sb3.layout import DEFAULT_CHECKPOINTS_DIR
from robot6_sb3.listing import CheckpointEntry, list_checkpoints


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
    ckpt: Annotated[Path, typer.Argument(help="The robot6 checkpoint (.pth) to export.")],
    out_path: Annotated[
        Path,
        typer.Argument(
            metavar="OUT.zip", help="The Stable-Baselines3 model zip to write (SAC.load/TQC.load)."
        ),
    ],
) -> None:
    """Write a checkpoint as a Stable-Baselines3 zip that SAC.load (or TQC.load) opens."""
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


@app.command()
def inspect(
    ckpt: Annotated[Path, typer.Argument(help="The robot6 checkpoint (.pth) to describe.")],
    as_json: JsonOption = False,
) -> None:
    """Show a checkpoint's metadata, tensors, counters and whether resuming it is exact."""
    with errors_to_exit_codes():
        summary = inspect_checkpoint(ckpt)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
        return
    metadata = summary.metadata
    table = Table(title=f"{shown(Path(summary.path))} ({human_size(summary.size_bytes)})")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name in ("format_version", "algo", "policy", "env_id", "env_kwargs", "n_envs", "vec_env"):
        table.add_row(name, str(metadata[name]))
    table.add_row("obs_dim / act_dim", f"{metadata['obs_dim']} / {metadata['act_dim']}")
    for name, value in (metadata["model_kwargs"] or {}).items():
        table.add_row(f"  {name}", str(value))
    table.add_row("seed", str(metadata["seed"]))
    table.add_row("run", f"{metadata['run_name']} (id {metadata['run_id']})")
    parent = metadata["parent"]
    table.add_row(
        "parent",
        "-"
        if not parent
        else f"{parent['run']} at episode {parent['episode']} ({parent['checkpoint']})",
    )
    table.add_row("created", str(metadata["created"]))
    versions = metadata["versions"] or {}
    table.add_row("versions", ", ".join(f"{k} {v}" for k, v in versions.items()))
    for name, value in summary.counters.items():
        table.add_row(name, "-" if value is None else str(value))
    table.add_row(
        "replay transitions",
        "-" if summary.replay_transitions is None else str(summary.replay_transitions),
    )
    table.add_row("exact resume", ("yes: " if summary.exact else "no: ") + summary.exact_reason)
    if summary.foreign:
        table.add_row("run folder", summary.foreign)
    table.add_row("keys", ", ".join(summary.keys))
    out.print(table)
    tensors = Table(title="Tensors")
    for column in ("key", "shape", "dtype"):
        tensors.add_column(column)
    for info in summary.tensors:
        tensors.add_row(info.key, "x".join(map(str, info.shape)) or "scalar", info.dtype)
    out.print(tensors)
