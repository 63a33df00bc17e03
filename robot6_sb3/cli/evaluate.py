"""``robot6 eval``: a checkpoint's policy evaluated, and recorded on request."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from robot6_sb3.cli.app import (
    CheckpointsDir,
    DeviceOption,
    JsonOption,
    app,
    check_output_path,
    errors_to_exit_codes,
    out,
    shown,
)
from robot6_sb3.cli.signals import signals_held
from robot6_sb3.errors import UsageError
from robot6_sb3.layout import BEST_NAME, DEFAULT_CHECKPOINTS_DIR


def _best_of_newest_run(checkpoints_dir: Path) -> Path:
    with signals_held():
        from robot6_sb3.discovery import newest_best

    best = newest_best(checkpoints_dir)
    if best is None:
        raise UsageError(
            f"no CKPT given and no run in {checkpoints_dir}/ has a {BEST_NAME}; "
            "pass a checkpoint file, or train first with: robot6 train"
        )
    return best


@app.command("eval")
def evaluate(
    ckpt: Annotated[
        Path | None,
        typer.Argument(
            help="Checkpoint to evaluate (default: best.pth of the newest run).",
            show_default=False,
        ),
    ] = None,
    episodes: Annotated[int, typer.Option(help="Episodes to evaluate.")] = 50,
    deterministic: Annotated[
        bool,
        typer.Option(
            "--deterministic/--stochastic",
            help="Act with the policy's mean action, or sample actions as in training.",
        ),
    ] = True,
    seed: Annotated[
        int, typer.Option(help="Seed of the evaluation env (targets) and of sampled actions.")
    ] = 0,
    video: Annotated[
        Path | None,
        typer.Option(
            help="Also record episodes to this .gif or .mp4 (.mp4 needs the video extra)."
        ),
    ] = None,
    video_episodes: Annotated[
        int, typer.Option(help="How many of the evaluated episodes --video records.")
    ] = 1,
    device: DeviceOption = "auto",
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a checkpoint's policy: success rate, mean reward and mean final distance."""
    with signals_held():
        from robot6_sb3.evaluation import (
            VIDEO_SUFFIXES,
            check_video_support,
            evaluate_checkpoint,
        )

    with errors_to_exit_codes():
        if episodes < 1:
            raise UsageError(f"--episodes must be at least 1, got {episodes}")
        if video is not None:
            if video_episodes < 1:
                raise UsageError(f"--video-episodes must be at least 1, got {video_episodes}")
            check_output_path(video, VIDEO_SUFFIXES, "--video")
            check_video_support(video)
        path = ckpt if ckpt is not None else _best_of_newest_run(checkpoints_dir)
        evaluation = evaluate_checkpoint(
            path, episodes, deterministic, seed, device, video, video_episodes
        )
    if as_json:
        print(json.dumps(evaluation.to_dict(), indent=2))
        return
    result = evaluation.result
    mode = "deterministic" if deterministic else "stochastic"
    plural = "s" if episodes > 1 else ""
    table = Table(title=f"{shown(path)}: {episodes} episode{plural}, {mode}, seed {seed}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("success rate", f"{result.success_rate:.1%}")
    table.add_row("mean reward", f"{result.mean_reward:.4f}")
    table.add_row("mean final distance", f"{result.mean_final_distance:.4f} m")
    out.print(table)
    if video is not None:
        out.print(
            f"Video of {video_episodes} episode{'s' if video_episodes > 1 else ''} "
            f"({evaluation.video_frames} frames) written to {shown(video)}"
        )
