"""``robot6 train``: a new run, or a resumed one.

PyTorch and Stable-Baselines3 are imported once the command's stop handlers are installed, so
that every other command and ``robot6 --help`` start quickly and a signal during the import
only requests a stop.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from robot6_sb3.cli.app import (
    app,
    err,
    errors_to_exit_codes,
    flag,
    option_names,
    out,
    robot6_command,
    shown,
    venv_command,
)
from robot6_sb3.cli.signals import StopSignals
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.errors import TrainingDivergedError
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.training_config import TrainConfig, describe

if TYPE_CHECKING:
    from robot6_sb3.planning import TrainingPlan
    from robot6_sb3.trainer import TrainingResult, TrainingStart


def _option(name: str, extra: str = "", **options: Any) -> Any:
    """The option of :class:`TrainConfig` field ``name``: its flag and its help from the field."""
    help_text = f"{describe(name)} {extra}".strip()
    return typer.Option(option_names(name), help=help_text, show_default=False, **options)


def _parse_net_arch(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            "net_arch", f"takes comma-separated layer sizes like 256,256, got {text!r}"
        ) from None


def _resume_command(
    plan: TrainingPlan, latest: Path, episodes: int | None = None, **options: object
) -> str:
    """The command that continues the run from ``latest`` with this session's settings (the
    run's own settings, such as --save-every or --n-envs, are in the checkpoint)."""
    config = plan.config
    words = [
        "train",
        "--resume-ckpt",
        shown(latest),
        "--episodes",
        str(episodes or config.episodes),
    ]
    for name in ("device", "threads"):
        if config.was_given(name):
            words += [flag(name), str(getattr(config, name))]
    for name, value in options.items():
        words += [f"--{name.replace('_', '-')}", str(value)]
    return f"{robot6_command()} {shlex.join(words)}"


def _recent(result: TrainingResult) -> str:
    """The recent training episodes' mean reward and success rate, for the summary."""
    from robot6_sb3.comparison import RECENT_EPISODES, summarize_run

    summary = summarize_run(
        result.paths.name, result.paths.checkpoint_dir.parent, result.paths.log_dir.parent
    )
    recent = min(summary.episodes, RECENT_EPISODES)
    if summary.mean_reward is None:
        return ""
    text = f"; the last {recent} training episodes: mean reward {summary.mean_reward:.4f}"
    if summary.success_rate is not None:
        text += f", success {summary.success_rate:.0%}"
    return text


def _header(start: TrainingStart) -> None:
    """What is about to train, and where its files go."""
    metadata, plan, paths = start.metadata, start.plan, start.paths
    if plan.source is None:
        how = "new run"
    elif plan.continues_run:
        how = "continuing"
    else:
        how = f"fork of {metadata.parent_run}"
    threads = plan.config.threads
    out.print(
        f"Run {paths.name} ({how}): {metadata.algo.upper()} on {metadata.env_id}, "
        f"{metadata.n_envs} env{'s' if metadata.n_envs > 1 else ''} ({metadata.vec_env}), "
        f"seed {metadata.seed}, {metadata.device}, {threads} thread{'s' if threads > 1 else ''}; "
        f"episodes {plan.start_episode} -> {plan.config.episodes}"
    )
    out.print(f"  checkpoints: {shown(paths.checkpoint_dir)}/  logs: {shown(paths.log_dir)}/")
    out.print(f"  engine: {start.engine}")
    if plan.source is not None:
        exact = "exact" if plan.exact else "not exact"
        out.print(f"  from {shown(plan.source)}; the continuation is {exact}")
    elif not metadata.exact:
        out.print(
            f"  its checkpoints will not resume exactly: {'; '.join(metadata.inexact_reasons)}"
        )


def _next_steps(result: TrainingResult, plan: TrainingPlan) -> str:
    """The commands a user runs next, with this run's paths."""
    robot6, paths = robot6_command(), result.paths
    more = max(plan.config.episodes, result.episodes) * 2
    lines = [
        ("evaluate the best policy", f"{robot6} eval {shlex.quote(shown(paths.best))}"),
        ("compare runs", f"{robot6} compare"),
        (
            "watch the curves",
            f"{venv_command('tensorboard')} --logdir {shlex.quote(shown(paths.log_dir.parent))}",
        ),
        ("train on", _resume_command(plan, paths.latest, episodes=more)),
    ]
    width = max(len(label) for label, _ in lines) + 1
    return "Next:\n" + "\n".join(f"  {label + ':':<{width}} {command}" for label, command in lines)


def _report_plan(plan: TrainingPlan) -> None:
    for skipped in plan.skipped:
        err.print(f"[RESUME] skipped {skipped.path}: {skipped.reason}")
    if plan.resume_not_found:
        out.print("[RESUME] Checkpoint not found, starting from scratch")
    if plan.start_best_reward is not None:
        how = "continuing this run" if plan.continues_run else "forking a new run from it"
        out.print(
            f"[RESUME] Loaded {plan.source}: episode {plan.start_episode}, "
            f"global_step {plan.start_step}, best_reward {plan.start_best_reward:.4f} ({how})"
        )
    for notice in plan.notices:
        subject = "" if notice.field is None else f"{flag(notice.field)} "
        out.print(f"[RESUME] {subject}{notice.text}")


@app.command()
def train(
    episodes: Annotated[int | None, _option("episodes")] = None,
    env_id: Annotated[str | None, _option("env_id")] = None,
    algo: Annotated[str | None, _option("algo")] = None,
    seed: Annotated[int | None, _option("seed")] = None,
    device: Annotated[str | None, _option("device")] = None,
    threads: Annotated[int | None, _option("threads")] = None,
    save_every: Annotated[int | None, _option("save_every")] = None,
    keep_last: Annotated[int | None, _option("keep_last")] = None,
    eval_every: Annotated[int | None, _option("eval_every")] = None,
    eval_episodes: Annotated[int | None, _option("eval_episodes")] = None,
    checkpoints_dir: Annotated[Path | None, _option("checkpoints_dir", file_okay=False)] = None,
    runs_dir: Annotated[Path | None, _option("runs_dir", file_okay=False)] = None,
    n_envs: Annotated[int | None, _option("n_envs")] = None,
    vec_env: Annotated[str | None, _option("vec_env")] = None,
    engine: Annotated[str | None, _option("engine")] = None,
    learning_rate: Annotated[float | None, _option("learning_rate")] = None,
    batch_size: Annotated[int | None, _option("batch_size")] = None,
    buffer_size: Annotated[int | None, _option("buffer_size")] = None,
    learning_starts: Annotated[int | None, _option("learning_starts")] = None,
    gamma: Annotated[float | None, _option("gamma")] = None,
    tau: Annotated[float | None, _option("tau")] = None,
    train_freq: Annotated[int | None, _option("train_freq")] = None,
    gradient_steps: Annotated[int | None, _option("gradient_steps")] = None,
    ent_coef: Annotated[str | None, _option("ent_coef")] = None,
    action_noise: Annotated[float | None, _option("action_noise")] = None,
    her_goals: Annotated[int | None, _option("her_goals")] = None,
    net_arch: Annotated[
        str | None, _option("net_arch", extra="Comma-separated, e.g. 256,256.")
    ] = None,
    resume: Annotated[bool | None, _option("resume")] = None,
    resume_ckpt: Annotated[Path | None, _option("resume_ckpt")] = None,
    replay_log: Annotated[bool | None, _option("replay_log")] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar (default: when the output is a terminal).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train a new run, or resume one, writing checkpoints, a CSV log and TensorBoard events."""
    # Every parameter but --progress is a TrainConfig field of the same name; None: not given.
    options = {name: value for name, value in locals().items() if name != "progress"}
    stop = StopSignals(
        stopping="{name} received: stopping after this step (the unfinished episode is "
        "discarded; saved files stay consistent).",
        again="Already stopping; waiting for the files to be closed.",
    )
    stop.install()
    # After the stop handlers, which only set a flag: a signal while PyTorch loads is safe.
    from robot6_sb3.planning import plan_training
    from robot6_sb3.trainer import run_training

    with errors_to_exit_codes():
        config = TrainConfig.from_options(**{**options, "net_arch": _parse_net_arch(net_arch)})
        plan = plan_training(config)
        _report_plan(plan)
        if plan.start_episode >= config.episodes:
            out.print(
                f"The checkpoint already has {plan.start_episode} of {config.episodes} episodes; "
                f"nothing to do (pass --episodes N with N > {plan.start_episode} to train further)."
            )
            return
        show_progress = sys.stdout.isatty() if progress is None else progress
        started = time.monotonic()
        try:
            result = run_training(
                plan, should_stop=stop.requested, progress_bar=show_progress, on_start=_header
            )
        except TrainingDivergedError as exc:
            if exc.checkpoint is not None:
                lower = min(plan.hyperparameters.learning_rate / 10, Hyperparameters.learning_rate)
                command = _resume_command(plan, exc.checkpoint, learning_rate=f"{lower:g}")
                out.print(
                    f"Resume the last good checkpoint with a lower learning rate:\n  {command}"
                )
            raise
    latest = result.paths.latest
    minutes = (time.monotonic() - started) / 60
    summary = (
        f"run {result.paths.name}: {result.episodes} episodes, global_step {result.global_step}, "
        f"best_reward {result.best_reward:.4f} ({minutes:.1f} min){_recent(result)}\n"
        f"  checkpoints: {shown(result.paths.checkpoint_dir)}\n  logs: {shown(result.paths.log_dir)}"
    )
    if result.stopped_early and stop.received is not None:
        out.print(f"Stopped: {summary}")
        if latest.exists():
            out.print(f"Resume with:\n  {_resume_command(plan, latest)}")
        else:
            out.print("No episode was completed, so nothing was saved.")
        raise typer.Exit(code=stop.exit_code)
    out.print(f"Done: {summary}")
    out.print(_next_steps(result, plan))
