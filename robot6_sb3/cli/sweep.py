"""``robot6 sweep run`` and ``robot6 sweep status``: Optuna sweeps over one or many machines.

The library (``robot6_sb3.sweep``) is imported inside the commands, so ``robot6`` works
without the ``sweep`` extra until a sweep command is used.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from robot6_sb3.cli.app import app, err, errors_to_exit_codes, fail, out, shown
from robot6_sb3.cli.signals import StopSignals
from robot6_sb3.errors import UsageError
from robot6_sb3.layout import StudyPaths
from robot6_sb3.run_settings import RunSettings

if TYPE_CHECKING:
    from robot6_sb3.sweep import SweepSettings, TrialOutcome, TrialRow

STORAGE_ENV = "ROBOT6_SWEEP_STORAGE"

sweep_app = typer.Typer(
    help="Sweep hyperparameters and seeds with Optuna, on one machine or many.",
    no_args_is_help=True,
)
app.add_typer(sweep_app, name="sweep")

Study = Annotated[
    str, typer.Option(help="The study's name; workers with the same name and storage join it.")
]
Storage = Annotated[
    str | None,
    typer.Option(
        envvar=STORAGE_ENV,
        help="SQLAlchemy URL of the study storage, e.g. postgresql+psycopg2://user:pw@db-host/sweeps for many machines (default: SQLite in the study folder, one machine only).",
    ),
]
RunsRoot = Annotated[
    Path,
    typer.Option(
        help="Folder holding sweeps/<study>/ with each trial's checkpoints/ and runs/; shared by all machines."
    ),
]


def _sweep_module() -> Any:
    try:
        from robot6_sb3 import sweep
        from robot6_sb3.sweep import space_file, storage  # noqa: F401  (optuna, SQLAlchemy, yaml)
    except ImportError as exc:
        raise UsageError(
            f"robot6 sweep needs the sweep extra ({exc.name} is missing): "
            "pip install 'robot6-sb3[sweep]'"
        ) from None
    return sweep


def _describe(outcome: TrialOutcome) -> str:
    parts = [f"trial {outcome.number} {outcome.state}"]
    if outcome.value is not None:
        parts.append(f"value {outcome.value:.4f}")
    if outcome.run:
        parts.append(f"run {outcome.run}, {outcome.episodes} episodes")
    if outcome.retry_of is not None:
        parts.append(f"retry of trial {outcome.retry_of}")
    if outcome.retry_of is not None and outcome.run:
        resumed = outcome.resumed_from
        parts.append(f"resumed at episode {resumed}" if resumed is not None else "started over")
    if outcome.error:
        parts.append(outcome.error)
    if outcome.note:
        parts.append(outcome.note)
    if outcome.state == "LOST":
        return ", ".join(parts)
    return ", ".join(parts) + f" ({outcome.seconds:.1f} s)"


def _worker_command(settings: SweepSettings, space: Path) -> list[str]:
    return [
        sys.executable, "-m", "robot6_sb3", "sweep", "run",
        "--study", settings.study,
        "--space", str(space.resolve()),
        "--workers", "1",
        "--n-trials", str(settings.n_trials),
        "--episodes", str(settings.trial_episodes),
        "--runs-root", str(settings.runs_root.resolve()),
        "--heartbeat-interval", str(settings.heartbeat_interval),
        "--grace-period", str(settings.grace_period),
        "--max-retry", str(settings.max_retry),
        "--device", settings.device,
        "--save-every", str(settings.save_every),
        "--as-worker",
    ]  # fmt: skip


def _run_children(settings: SweepSettings, space: Path, workers: int, stop: StopSignals) -> int:
    """Start ``workers`` worker processes (the storage URL goes by environment, not argv, to keep
    passwords out of ``ps``); returns how many ended abnormally."""
    env = {**os.environ, STORAGE_ENV: settings.url}
    command = _worker_command(settings, space)
    for _ in range(workers):
        stop.children.append(subprocess.Popen(command, env=env))
    out.print(
        f"Started {workers} workers (pids {', '.join(str(c.pid) for c in stop.children)}) "
        f"on study {settings.study}."
    )
    abnormal = 0
    for child in stop.children:
        code = child.wait()
        if code < 0:
            err.print(
                f"worker {child.pid} was killed by {signal.Signals(-code).name}; its trial is "
                "retried with the same parameters by another worker after the grace period."
            )
        if code != 0:
            abnormal += 1
    return abnormal


@sweep_app.command("run")
def run(
    study: Study,
    space: Annotated[
        Path,
        typer.Option(
            help="YAML or TOML file with the search space and the trial settings (see examples/sweep_space.yaml)."
        ),
    ],
    storage: Storage = None,
    workers: Annotated[
        int, typer.Option(help="Worker processes to start on this machine, one thread each.")
    ] = 1,
    n_trials: Annotated[
        int,
        typer.Option(
            help="The study's budget: it ends when this many trials are complete or pruned."
        ),
    ] = 20,
    episodes: Annotated[
        int | None,
        typer.Option(help="Episodes per trial (default: the space file's 'episodes')."),
    ] = None,
    runs_root: RunsRoot = Path("."),
    heartbeat_interval: Annotated[
        int, typer.Option(help="Seconds between two heartbeats of a running trial.")
    ] = 10,
    grace_period: Annotated[
        int,
        typer.Option(
            help="Seconds without a heartbeat after which a trial's worker counts as dead and the trial is retried."
        ),
    ] = 60,
    max_retry: Annotated[
        int, typer.Option(help="How many times a trial whose worker died is queued again.")
    ] = 3,
    device: Annotated[
        str, typer.Option(help="Where each trial trains: auto, cpu or cuda.")
    ] = "cpu",
    save_every: Annotated[
        int, typer.Option(help="Write ckpt_ep_N.pth every this many completed episodes.")
    ] = RunSettings.save_every,
    as_worker: Annotated[
        bool,
        typer.Option(
            hidden=True, help="Run as one of --workers' processes: no study set-up, no summary."
        ),
    ] = False,
) -> None:
    """Run trials of a study until its budget is finished; start it on as many machines as you like."""
    stop = StopSignals(
        stopping="{name} received: stopping; each running trial is saved at its last episode "
        "and queued again for the next `robot6 sweep run`.",
        again="Already stopping; waiting for the running trials to save.",
    )
    stop.install()
    with errors_to_exit_codes():
        for name, value, minimum in (
            ("--workers", workers, 1),
            ("--n-trials", n_trials, 1),
            ("--heartbeat-interval", heartbeat_interval, 1),
            ("--max-retry", max_retry, 0),
            ("--save-every", save_every, 1),
        ):
            if value < minimum:
                raise UsageError(f"{name} must be at least {minimum}, got {value}")
        if episodes is not None and episodes < 1:
            raise UsageError(f"--episodes must be at least 1, got {episodes}")
        if grace_period <= heartbeat_interval:
            raise UsageError(
                f"--grace-period ({grace_period} s) must be longer than --heartbeat-interval "
                f"({heartbeat_interval} s), or live trials would be retried"
            )
        sweep = _sweep_module()
        settings = sweep.SweepSettings(
            study=study,
            space=sweep.load_space(space),
            runs_root=runs_root,
            storage_url=storage,
            n_trials=n_trials,
            episodes=episodes,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            max_retry=max_retry,
            device=device,
            save_every=save_every,
        )
        if as_worker:
            sweep.run_worker(settings, stop.requested, lambda o: out.print(_describe(o)))
            if stop.received is not None:
                raise typer.Exit(code=stop.exit_code)
            return
        # Create the study here, once, so that workers only join it.
        handle = sweep.open_study(settings)
        abnormal = 0
        if workers == 1:
            sweep.run_worker(settings, stop.requested, lambda o: out.print(_describe(o)))
        else:
            abnormal = _run_children(settings, space, workers, stop)
        finished = sweep.finished_count(handle.get_trials(deepcopy=False))
    if stop.received is not None:
        out.print(
            f"Stopped with {finished} of {n_trials} trials finished; run the same command to go on."
        )
        raise typer.Exit(code=stop.exit_code)
    status = f"robot6 sweep status --study {study}" + (
        f" --runs-root {shown(runs_root)}" if runs_root != Path(".") else ""
    )
    if finished < n_trials:
        raise fail(
            f"the workers ended with {finished} of {n_trials} trials finished"
            + (f" ({abnormal} of {workers} ended abnormally, see above)" if abnormal else "")
            + f"; see {status}, "
            "then run the same command again to finish the study",
            1,
        )
    out.print(f"Study {study}: {finished} of {n_trials} trials finished. See: {status}")


def _param_text(params: dict[str, Any]) -> str:
    return ", ".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in params.items()
    )


def _state_text(row: TrialRow) -> str:
    """The state column: the state, and for a failed trial why, and what came of it."""
    text = row.state + (f" (retry of {row.retry_of})" if row.retry_of is not None else "")
    if row.error:
        text += f": {row.error}"
    elif row.fail_reason == "worker lost":
        text += ": its worker was lost"
    elif row.fail_reason == "interrupted":
        text += ": stopped by a signal"
    if row.retried_as is not None:
        text += f"; continued as trial {row.retried_as}"
    if row.retries_used_up is not None:
        tries = ", ".join(map(str, row.retries_used_up))
        text += f"; retries used up (worker lost in trials {tries}), its slot went to a new trial"
    return text


@sweep_app.command("status")
def status(
    study: Study,
    storage: Storage = None,
    runs_root: RunsRoot = Path("."),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
    ] = False,
) -> None:
    """Show a study's trials, best first: state, parameters, value, episodes and run folder."""
    with errors_to_exit_codes():
        sweep = _sweep_module()
        sweep.check_study_name(study)
        url = storage or sweep.default_storage_url(runs_root, study)
        with sweep.storage_errors(url):
            rows = sweep.trial_rows(sweep.load_study(study, url), runs_root)
    if as_json:
        print(
            json.dumps(
                {
                    "study": study,
                    "storage": sweep.shown_url(url),
                    "finished": sum(row.state in ("COMPLETE", "PRUNED") for row in rows),
                    "trials": [row.to_dict() for row in rows],
                },
                indent=2,
            )
        )
        return
    if not rows:
        out.print(f"Study {study} has no trials yet.")
        return
    table = Table(title=f"Study {study} ({sweep.shown_url(url)})", title_justify="left")
    for column in ("trial", "state", "value", "episodes", "params", "run folder"):
        table.add_column(
            column, justify="right" if column in ("trial", "value", "episodes") else "left"
        )
    for row in rows:
        table.add_row(
            str(row.number),
            _state_text(row),
            "-" if row.value is None else f"{row.value:.4f}",
            "-" if row.episodes is None else str(row.episodes),
            _param_text(row.params),
            "-" if row.run_dir is None else shown(row.run_dir),
        )
    out.print(table)
    paths = StudyPaths.of(runs_root, study)
    out.print(
        "Compare the runs with: robot6 compare "
        f"--checkpoints-dir {shown(paths.checkpoints_dir)} --runs-dir {shown(paths.runs_dir)}"
    )
