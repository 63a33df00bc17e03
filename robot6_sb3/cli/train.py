"""``robot6 train``: a new run, or a resumed one."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from robot6_sb3.checkpoint import metadata_of
from robot6_sb3.cli.app import (
    CheckpointsDir,
    app,
    err,
    errors_to_exit_codes,
    out,
    robot6_command,
    shown,
    venv_command,
)
from robot6_sb3.cli.signals import StopSignals
from robot6_sb3.comparison import RECENT_EPISODES, summarize_run
from robot6_sb3.errors import TrainingDivergedError, UsageError
from robot6_sb3.exactness import exactness
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.layout import (
    BEST_REWARD,
    DEFAULT_CHECKPOINTS_DIR,
    EPISODE,
    GLOBAL_STEP,
)
from robot6_sb3.planning import TrainingPlan, TrainRequest, plan_training
from robot6_sb3.trainer import TrainingResult, TrainingStart, run_training


def _parse_net_arch(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(
            f"--net-arch takes comma-separated layer sizes like 256,256, got {text!r}"
        ) from None
    return sizes


def _resume_command(
    plan: TrainingPlan, latest: Path, episodes: int | None = None, **options: object
) -> str:
    """The command that continues the run from ``latest`` with this session's settings (the
    run's own settings, such as --save-every or --n-envs, are in the checkpoint)."""
    request = plan.request
    total = str(episodes or request.episodes)
    words = ["train", "--resume-ckpt", shown(latest), "--episodes", total]
    if request.device != "auto":
        words += ["--device", request.device]
    if request.threads != 1:
        words += ["--threads", str(request.threads)]
    for name, value in options.items():
        words += [f"--{name.replace('_', '-')}", str(value)]
    return f"{robot6_command()} {shlex.join(words)}"


def _recent(result: TrainingResult) -> str:
    """The recent training episodes' mean reward and success rate, for the summary."""
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
    threads = plan.request.threads
    out.print(
        f"Run {paths.name} ({how}): {metadata.algo.upper()} on {metadata.env_id}, "
        f"{metadata.n_envs} env{'s' if metadata.n_envs > 1 else ''} ({metadata.vec_env}), "
        f"seed {metadata.seed}, {metadata.device}, {threads} thread{'s' if threads > 1 else ''}; "
        f"episodes {plan.start_episode} -> {plan.request.episodes}"
    )
    out.print(f"  checkpoints: {shown(paths.checkpoint_dir)}/  logs: {shown(paths.log_dir)}/")
    out.print(f"  engine: {start.engine}")
    if plan.source is not None and plan.checkpoint is not None:
        verdict = exactness(plan.checkpoint, plan.source)
        same_engine = plan.engine == metadata_of(plan.checkpoint).engine
        exact = verdict.exact and plan.request.replay_log is not False and same_engine
        out.print(
            f"  from {shown(plan.source)}; the continuation is {'exact' if exact else 'not exact'}"
        )
    elif not metadata.exact:
        out.print(
            f"  its checkpoints will not resume exactly: {'; '.join(metadata.inexact_reasons)}"
        )


def _next_steps(result: TrainingResult, plan: TrainingPlan) -> str:
    """The commands a user runs next, with this run's paths."""
    robot6, paths = robot6_command(), result.paths
    more = max(plan.request.episodes, result.episodes) * 2
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
    if plan.checkpoint is not None:
        ckpt = plan.checkpoint
        how = "continuing this run" if plan.continues_run else "forking a new run from it"
        out.print(
            f"[RESUME] Loaded {plan.source}: episode {ckpt[EPISODE]}, "
            f"global_step {ckpt[GLOBAL_STEP]}, best_reward {ckpt[BEST_REWARD]:.4f} ({how})"
        )
    for notice in plan.notices:
        out.print(f"[RESUME] {notice}")


@app.command()
def train(
    episodes: Annotated[
        int,
        typer.Option(
            help="The run's total number of episodes; a resumed run trains until it has this many."
        ),
    ] = 300,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", help="Gymnasium env id (default Robot6Reach-v0; on resume, the checkpoint's)."
        ),
    ] = None,
    algo: Annotated[
        str | None,
        typer.Option(
            help="Algorithm: sac, tqc, td3, ddpg or crossq (default sac; on resume, the checkpoint's)."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Random seed of a new run (default: a random one, recorded in the checkpoints)."
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="Where to train: auto, cpu or cuda.")] = "auto",
    threads: Annotated[
        int, typer.Option(help="PyTorch CPU threads; one is fastest for small nets on few cores.")
    ] = 1,
    save_every: Annotated[
        int | None,
        typer.Option(
            help="Write ckpt_ep_N.pth every this many completed episodes (default 50; a resumed run keeps its own).",
            show_default=False,
        ),
    ] = None,
    keep_last: Annotated[
        int | None,
        typer.Option(
            help="Keep only the newest this many ckpt_ep_N.pth files of the run (latest.pth and best.pth always stay)."
        ),
    ] = None,
    eval_every: Annotated[
        int | None,
        typer.Option(
            help="Evaluate the policy deterministically every this many completed episodes; the best evaluation is kept as best_eval.pth (default: no evaluations; a resumed run keeps its own).",
            show_default=False,
        ),
    ] = None,
    eval_episodes: Annotated[
        int | None,
        typer.Option(
            help="Episodes per evaluation (default 20; a resumed run keeps its own).",
            show_default=False,
        ),
    ] = None,
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    runs_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding one sub-folder of TensorBoard events and CSV per run (default runs; a resumed run keeps writing where its logs are).",
            show_default=False,
            file_okay=False,
        ),
    ] = None,
    n_envs: Annotated[
        int | None,
        typer.Option(
            help="Envs stepped together, each episode logged as it ends (default 1; a resumed run keeps its own).",
            show_default=False,
        ),
    ] = None,
    vec_env: Annotated[
        str | None,
        typer.Option(
            help="How the envs run: dummy (one process) or subproc (a process each).",
            show_default=False,
        ),
    ] = None,
    learning_rate: Annotated[
        float | None,
        typer.Option(
            help=Hyperparameters.help_text("learning_rate")
            + " A change on resume is applied to the restored optimizers."
        ),
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("batch_size"))
    ] = None,
    buffer_size: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("buffer_size"))
    ] = None,
    learning_starts: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("learning_starts"))
    ] = None,
    gamma: Annotated[float | None, typer.Option(help=Hyperparameters.help_text("gamma"))] = None,
    tau: Annotated[float | None, typer.Option(help=Hyperparameters.help_text("tau"))] = None,
    train_freq: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("train_freq"))
    ] = None,
    gradient_steps: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("gradient_steps"))
    ] = None,
    ent_coef: Annotated[
        str | None, typer.Option(help=Hyperparameters.help_text("ent_coef"))
    ] = None,
    action_noise: Annotated[
        float | None, typer.Option(help=Hyperparameters.help_text("action_noise"))
    ] = None,
    her_goals: Annotated[
        int | None, typer.Option(help=Hyperparameters.help_text("her_goals"))
    ] = None,
    net_arch: Annotated[
        str | None,
        typer.Option(
            help=Hyperparameters.help_text("net_arch") + " Comma-separated, e.g. 256,256."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue the newest run from its newest loadable checkpoint.")
    ] = False,
    resume_ckpt: Annotated[
        Path | None,
        typer.Option(
            help="Continue from exactly this checkpoint (implies --resume); latest.pth continues its run, any other file forks a new run."
        ),
    ] = None,
    buffer: Annotated[
        bool | None,
        typer.Option(
            "--buffer/--no-buffer",
            help="Log the replay buffer so that resume is exact (the default; a resumed run keeps its setting); --no-buffer saves disk but a resumed run starts with an empty buffer.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="Whose gradient update trains: fast (the same update as SB3's, computed faster; SAC and TQC) or sb3 (Stable-Baselines3's own). Default: fast for sac and tqc, sb3 for the others; a resumed run keeps its own (another one continues it, but not bitwise).",
            show_default=False,
        ),
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option(
            "--progress/--no-progress",
            help="Show a progress bar (default: when the output is a terminal).",
        ),
    ] = None,
) -> None:
    """Train a new run, or resume one, writing checkpoints, a CSV log and TensorBoard events."""
    stop = StopSignals(
        stopping="{name} received: stopping after this step (the unfinished episode is "
        "discarded; saved files stay consistent).",
        again="Already stopping; waiting for the files to be closed.",
    )
    stop.install()
    with errors_to_exit_codes():
        overrides = {
            "learning_rate": learning_rate,
            "batch_size": batch_size,
            "buffer_size": buffer_size,
            "learning_starts": learning_starts,
            "gamma": gamma,
            "tau": tau,
            "train_freq": train_freq,
            "gradient_steps": gradient_steps,
            "net_arch": _parse_net_arch(net_arch),
            "ent_coef": ent_coef,
            "action_noise": action_noise,
            "her_goals": her_goals,
        }
        request = TrainRequest(
            episodes=episodes,
            env_id=env,
            algo=algo,
            seed=seed,
            device=device,
            threads=threads,
            save_every=save_every,
            keep_last=keep_last,
            eval_every=eval_every,
            eval_episodes=eval_episodes,
            checkpoints_dir=checkpoints_dir,
            runs_dir=runs_dir,
            overrides={k: v for k, v in overrides.items() if v is not None},
            replay_log=buffer,
            n_envs=n_envs,
            vec_env=vec_env,
            resume=resume or resume_ckpt is not None,
            resume_ckpt=resume_ckpt,
            engine=engine,
        )
        plan = plan_training(request)
        _report_plan(plan)
        if plan.start_episode >= episodes:
            out.print(
                f"The checkpoint already has {plan.start_episode} of {episodes} episodes; "
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
                lower = min(
                    plan.hyperparameters.learning_rate / 10, Hyperparameters().learning_rate
                )
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
