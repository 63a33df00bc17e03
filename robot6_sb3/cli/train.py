"""``robot6 train`` and ``robot6 list-checkpoints``.

Modules that load PyTorch and Stable-Baselines3 are imported inside the commands that use
them, so that every other command (and ``robot6 --help``) starts quickly.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from robot6_sb3.cli.app import (
    CheckpointsDir,
    app,
    err,
    errors_to_exit_codes,
    human_size,
    out,
    shown,
)
from robot6_sb3.cli.signals import StopSignals, signals_held
from robot6_sb3.errors import CheckpointError, TrainingDivergedError, UsageError
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.layout import (
    BEST_REWARD,
    DEFAULT_CHECKPOINTS_DIR,
    EPISODE,
    GLOBAL_STEP,
    LATEST_NAME,
)
from robot6_sb3.training_csv import read_rows

if TYPE_CHECKING:
    from robot6_sb3.planning import TrainingPlan
    from robot6_sb3.trainer import TrainingResult


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


def _resume_command(plan: TrainingPlan, latest: Path, **options: object) -> str:
    """The command that continues the run from ``latest`` with this session's settings (the
    run's own settings, such as --save-every or --n-envs, are in the checkpoint)."""
    request = plan.request
    words = ["robot6", "train", "--resume-ckpt", shown(latest), "--episodes", str(request.episodes)]
    if request.device != "auto":
        words += ["--device", request.device]
    if request.threads != 1:
        words += ["--threads", str(request.threads)]
    for name, value in options.items():
        words += [f"--{name.replace('_', '-')}", str(value)]
    return shlex.join(words)


RECENT_EPISODES = 50


def _recent_success(result: TrainingResult) -> str:
    """The success rate of the newest training episodes, from the CSV, as a summary suffix."""
    rows = read_rows(result.paths.csv)[-RECENT_EPISODES:]
    flags = [row["success"] for row in rows if row.get("success") in ("0", "1")]
    if not flags:
        return ""
    rate = sum(flag == "1" for flag in flags) / len(flags)
    return f", success {rate:.0%} in the last {len(flags)} training episodes"


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
    # After the stop handlers, which only set a flag: safe while PyTorch loads.
    from robot6_sb3.planning import TrainRequest, plan_training
    from robot6_sb3.trainer import run_training

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
            checkpoints_dir=checkpoints_dir,
            runs_dir=runs_dir,
            overrides={k: v for k, v in overrides.items() if v is not None},
            replay_log=buffer,
            n_envs=n_envs,
            vec_env=vec_env,
            resume=resume or resume_ckpt is not None,
            resume_ckpt=resume_ckpt,
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
            result = run_training(plan, should_stop=stop.requested, progress_bar=show_progress)
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
    latest = result.paths.checkpoint_dir / LATEST_NAME
    minutes = (time.monotonic() - started) / 60
    summary = (
        f"run {result.paths.name}: {result.episodes} episodes, global_step {result.global_step}, "
        f"best_reward {result.best_reward:.4f} ({minutes:.1f} min){_recent_success(result)}\n"
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


def _describe_file(path: Path) -> dict[str, Any]:
    with signals_held():
        from robot6_sb3.checkpoint import load_checkpoint, metadata_of
        from robot6_sb3.exactness import exactness
        from robot6_sb3.resume_point import foreign_to_folder

    stat = path.stat()
    entry: dict[str, Any] = {
        "path": str(path),
        "file": path.name,
        "size_bytes": stat.st_size,
        "age_seconds": round(time.time() - stat.st_mtime, 1),
    }
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError as exc:
        entry["error"] = str(exc)
        return entry
    verdict = exactness(checkpoint, path)
    entry.update(
        episode=checkpoint[EPISODE],
        global_step=checkpoint[GLOBAL_STEP],
        best_reward=checkpoint[BEST_REWARD],
        exact=verdict.exact,
        exact_reason=verdict.reason,
        parent=(checkpoint["metadata"].get("parent") or {}).get("run"),
        foreign=foreign_to_folder(path, metadata_of(checkpoint)),
    )
    return entry


def _human_age(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= length:
            return f"{seconds / length:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


@app.command("list-checkpoints")
def list_checkpoints(
    checkpoints_dir: CheckpointsDir = DEFAULT_CHECKPOINTS_DIR,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
    ] = False,
) -> None:
    """List every run's checkpoints and mark the one `robot6 train --resume` would pick."""
    with signals_held():
        from robot6_sb3.discovery import checkpoint_files, find_resume_checkpoint, run_dirs

    choice = find_resume_checkpoint(checkpoints_dir)
    pick = choice.path.resolve() if choice.path else None
    runs = []
    for run_dir in run_dirs(checkpoints_dir):
        files = [_describe_file(path) for path in checkpoint_files(run_dir)]
        for entry in files:
            entry["resume_pick"] = pick is not None and Path(entry["path"]).resolve() == pick
        runs.append({"run": run_dir.name, "path": str(run_dir), "files": files})
    if as_json:
        print(
            json.dumps(
                {
                    "checkpoints_dir": str(checkpoints_dir),
                    "resume_pick": str(choice.path) if choice.path else None,
                    "runs": runs,
                },
                indent=2,
            )
        )
        return
    if not any(run["files"] for run in runs):
        out.print(f"No checkpoints in {checkpoints_dir}/ yet; start a run with: robot6 train")
        return
    table = Table(title=f"Checkpoints in {checkpoints_dir}/", title_justify="left")
    for column in ("run", "file", "episode", "global_step", "best_reward", "size", "age", "exact"):
        table.add_column(
            column,
            justify="right"
            if column in ("episode", "global_step", "best_reward", "size")
            else "left",
        )
    for run in runs:
        for entry in run["files"]:
            name = entry["file"] + ("  <- --resume" if entry["resume_pick"] else "")
            if "error" in entry:
                table.add_row(
                    run["run"],
                    name,
                    "-",
                    "-",
                    "-",
                    human_size(entry["size_bytes"]),
                    _human_age(entry["age_seconds"]),
                    Text(f"unreadable: {entry['error']}", style="red"),
                )
                continue
            exact = "yes" if entry["exact"] else f"no: {entry['exact_reason']}"
            if entry["foreign"]:
                exact += f" ({entry['foreign']})"
            table.add_row(
                run["run"],
                name,
                str(entry["episode"]),
                str(entry["global_step"]),
                f"{entry['best_reward']:.4f}",
                human_size(entry["size_bytes"]),
                _human_age(entry["age_seconds"]),
                exact,
            )
    out.print(table)
    if choice.path is None:
        out.print("Nothing loadable: robot6 train --resume would start from scratch.")
