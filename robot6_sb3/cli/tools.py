"""``robot6 compare``, ``prune``, ``eval``, ``export`` and ``inspect``: working with runs and
checkpoints after (or while) they train.

Modules that load PyTorch and Stable-Baselines3 are imported inside the commands that use
them, so that every other command (and ``robot6 --help``) starts quickly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import gymnasium as gym
import typer
from rich.table import Table

from robot6_sb3.cli.app import (
    CheckpointsDir,
    RunsDir,
    app,
    errors_to_exit_codes,
    human_size,
    out,
    shown,
)
from robot6_sb3.cli.signals import signals_held
from robot6_sb3.errors import UsageError
from robot6_sb3.layout import BEST_NAME, DEFAULT_CHECKPOINTS_DIR, DEFAULT_RUNS_DIR, METADATA
from robot6_sb3.output_paths import check_output_path
from robot6_sb3.recording import VIDEO_SUFFIXES, EpisodeFrames, check_video_support, write_video

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]


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
    table = Table(title="Runs (mean reward and success over the last 100 episodes)")
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
    device: Annotated[
        str, typer.Option(help="Where to run the policy: auto, cpu or cuda.")
    ] = "cpu",
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a checkpoint's policy: success rate, mean reward and mean final distance."""
    with signals_held():
        from robot6_sb3.checkpoint import load_checkpoint
        from robot6_sb3.evaluation import evaluate_policy
        from robot6_sb3.trainer import model_from_checkpoint

    with errors_to_exit_codes():
        if episodes < 1:
            raise UsageError(f"--episodes must be at least 1, got {episodes}")
        if video is not None:
            if video_episodes < 1:
                raise UsageError(f"--video-episodes must be at least 1, got {video_episodes}")
            check_output_path(video, VIDEO_SUFFIXES, "--video")
            check_video_support(video)
        path = ckpt if ckpt is not None else _best_of_newest_run(checkpoints_dir)
        checkpoint = load_checkpoint(path)
        metadata = checkpoint[METADATA]
        model = model_from_checkpoint(checkpoint, device)
        model.env.close()
        env_id, env_kwargs = metadata["env_id"], metadata["env_kwargs"]
        # Sampled actions come from the global generators; seeding them makes --stochastic
        # reproducible and makes the recording replay the first evaluated episodes.
        model.set_random_seed(seed)
        result = evaluate_policy(model, env_id, env_kwargs, episodes, deterministic, seed)
        frames = None
        if video is not None:
            spec = gym.spec(env_id)
            frames = EpisodeFrames(int(spec.max_episode_steps or 0) + 1)
            model.set_random_seed(seed)
            evaluate_policy(model, env_id, env_kwargs, video_episodes, deterministic, seed, frames)
            env = gym.make(env_id, **env_kwargs)
            fps = int(env.metadata.get("render_fps") or 25)
            env.close()
            write_video(video, frames.frames, fps)
    report: dict[str, Any] = {
        "checkpoint": str(path),
        "deterministic": deterministic,
        "seed": seed,
        **result.to_dict(),
    }
    if video is not None and frames is not None:
        report.update(video=str(video), video_frames=len(frames.frames))
    if as_json:
        print(json.dumps(report, indent=2))
        return
    mode = "deterministic" if deterministic else "stochastic"
    plural = "s" if episodes > 1 else ""
    table = Table(title=f"{shown(path)}: {episodes} episode{plural}, {mode}, seed {seed}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("success rate", f"{result.success_rate:.1%}")
    table.add_row("mean reward", f"{result.mean_reward:.4f}")
    table.add_row("mean final distance", f"{result.mean_final_distance:.4f} m")
    out.print(table)
    if frames is not None and video is not None:
        out.print(
            f"Video of {video_episodes} episode{'s' if video_episodes > 1 else ''} "
            f"({len(frames.frames)} frames) written to "
            f"{shown(video)}"
        )


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
    with signals_held():
        from robot6_sb3.checkpoint import load_checkpoint
        from robot6_sb3.export import export_sb3, max_prediction_difference

    with errors_to_exit_codes():
        check_output_path(out_path, (".zip",), "OUT")
        checkpoint = load_checkpoint(ckpt)
        model = export_sb3(checkpoint, out_path)
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
    with signals_held():
        from robot6_sb3.inspection import inspect_checkpoint

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
