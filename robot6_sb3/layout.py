"""Where a run's files live and what the checkpoint keys are called (SPEC sections 4-5).

This module is the single place that spells these names; every other module imports them.

::

    checkpoints/<run>/latest.pth        rewritten after every episode
    checkpoints/<run>/best.pth          rewritten when an episode beats best_reward
    checkpoints/<run>/ckpt_ep_N.pth     every ``save_every`` completed episodes
    checkpoints/<run>/best_eval.pth     the best periodic evaluation (``eval_every``)
    checkpoints/<run>/replay/           append-only transition log (exact resume)
    checkpoints/<run>/run.json          the run's name and id (runs/<run>/ has one too)
    runs/<run>/events.out.tfevents.*    TensorBoard
    runs/<run>/training.csv             one row per episode
    runs/<run>/evaluations.csv          one row per periodic evaluation

A sweep (``robot6 sweep``) keeps each study's runs in that same layout, in a folder of its own::

    <runs-root>/sweeps/<study>/optuna.db                 the default (SQLite) study storage
    <runs-root>/sweeps/<study>/checkpoints/<run>/        as above, plus sweep_trial.json
    <runs-root>/sweeps/<study>/runs/<run>/               as above
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

LATEST_NAME = "latest.pth"
BEST_NAME = "best.pth"
PERIODIC_PREFIX = "ckpt_ep_"
PERIODIC_RE = re.compile(r"^ckpt_ep_(\d+)\.pth$")
REPLAY_DIR_NAME = "replay"
LOCK_NAME = ".lock"
RUN_FILE_NAME = "run.json"
"""In a run's checkpoint and log folders: which run (name and random id) they belong to."""
CSV_NAME = "training.csv"

DEFAULT_CHECKPOINTS_DIR = Path("checkpoints")
DEFAULT_RUNS_DIR = Path("runs")

SWEEPS_DIR_NAME = "sweeps"
STUDY_STORAGE_NAME = "optuna.db"
SWEEP_TRIAL_NAME = "sweep_trial.json"
"""In a sweep trial's checkpoint folder: the study, trial number and parameters."""

RUN_TIME_FORMAT = "%Y%m%d-%H%M%S"
RUN_NAME_RE = re.compile(r"^(?P<algo>[a-z0-9]+)_(?P<stamp>\d{8}-\d{6})$")

CSV_COLUMNS = ("episode", "global_step", "episode_reward", "episode_length", "success", "distance")
EVAL_CSV_NAME = "evaluations.csv"
EVAL_COLUMNS = ("episode", "global_step", "mean_reward", "success_rate", "mean_final_distance")
"""One row per periodic evaluation (``--eval-every``), after ``episode`` completed episodes."""
BEST_EVAL_NAME = "best_eval.pth"
"""The first three are the documented ones; the rest follow them (SPEC 4)."""

# The twelve documented checkpoint keys (SPEC 5).
POLICY = "policy"
Q1 = "q1"
Q2 = "q2"
Q1_TARGET = "q1_target"
Q2_TARGET = "q2_target"
POLICY_OPT = "policy_opt"
Q_OPT = "q_opt"
ALPHA_OPT = "alpha_opt"
LOG_ALPHA = "log_alpha"
GLOBAL_STEP = "global_step"
EPISODE = "episode"
BEST_REWARD = "best_reward"

NETWORK_KEYS = (POLICY, Q1, Q2, Q1_TARGET, Q2_TARGET)
OPTIMIZER_KEYS = (POLICY_OPT, Q_OPT, ALPHA_OPT)
STATE_DICT_KEYS = (*NETWORK_KEYS, *OPTIMIZER_KEYS)
REQUIRED_KEYS = (*STATE_DICT_KEYS, LOG_ALPHA, GLOBAL_STEP, EPISODE, BEST_REWARD)

# Beyond the twelve: SB3's own state dicts (the twelve are views of them), what describes the
# run, and what exact resume needs.
MODEL = "model"
METADATA = "metadata"
TRAINING_STATE = "training_state"
RNG_STATE = "rng_state"
ENV_STATE = "env_state"
REPLAY = "replay"
WALL_TIME = "wall_time_s"
BEST_EVAL = "best_eval"


def periodic_name(episode: int) -> str:
    """File name of the periodic checkpoint taken when ``episode`` episodes are complete."""
    return f"{PERIODIC_PREFIX}{episode}.pth"


def periodic_episode(name: str) -> int | None:
    """The N of ``ckpt_ep_N.pth``, or ``None`` for any other name."""
    match = PERIODIC_RE.match(name)
    return int(match.group(1)) if match else None


def run_folder_of(checkpoint: Path) -> Path:
    """The folder a checkpoint file is in (its run's, for a file of a run), absolute."""
    return Path(checkpoint).resolve().parent


def run_time(name: str) -> datetime | None:
    """The start time encoded in a run name, or ``None`` if ``name`` is not a run name."""
    match = RUN_NAME_RE.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group("stamp"), RUN_TIME_FORMAT)
    except ValueError:
        return None


@dataclass(frozen=True)
class RunPaths:
    """The folders of one run."""

    name: str
    checkpoint_dir: Path
    log_dir: Path

    @classmethod
    def of(cls, name: str, checkpoints_dir: Path, runs_dir: Path) -> RunPaths:
        return cls(name, Path(checkpoints_dir) / name, Path(runs_dir) / name)

    @property
    def latest(self) -> Path:
        return self.checkpoint_dir / LATEST_NAME

    @property
    def best(self) -> Path:
        return self.checkpoint_dir / BEST_NAME

    def periodic(self, episode: int) -> Path:
        return self.checkpoint_dir / periodic_name(episode)

    @property
    def replay_dir(self) -> Path:
        return self.checkpoint_dir / REPLAY_DIR_NAME

    @property
    def lock(self) -> Path:
        return self.checkpoint_dir / LOCK_NAME

    @property
    def csv(self) -> Path:
        return self.log_dir / CSV_NAME


def create_run(algo: str, checkpoints_dir: Path, runs_dir: Path, now: datetime) -> RunPaths:
    """Create the folders of a new run named ``<algo>_YYYYMMDD-HHMMSS`` after ``now``.

    A name some folder already has is never reused: the time moves on by whole seconds until
    the checkpoint folder can be created exclusively (two processes starting in the same
    second get different names). Bumping the time instead of adding a suffix keeps every name
    in one format, so run names still sort by time.
    """
    stamp = now.replace(microsecond=0)
    Path(checkpoints_dir).mkdir(parents=True, exist_ok=True)
    while True:
        paths = RunPaths.of(f"{algo}_{stamp.strftime(RUN_TIME_FORMAT)}", checkpoints_dir, runs_dir)
        if not paths.log_dir.exists():
            try:
                paths.checkpoint_dir.mkdir()
            except FileExistsError:
                pass
            else:
                paths.log_dir.mkdir(parents=True, exist_ok=True)
                return paths
        stamp += timedelta(seconds=1)


def remove_empty_run(paths: RunPaths, roots: list[Path] | None = None) -> None:
    """Remove a new run's folders again if nothing but its lock was written into them (a run
    that failed before it started), and the ``roots`` made for it if they are empty too;
    folders with any other file stay."""
    for folder in (paths.checkpoint_dir, paths.log_dir, *(roots or [])):
        try:
            if [entry.name for entry in folder.iterdir()] == [LOCK_NAME]:
                (folder / LOCK_NAME).unlink()
            folder.rmdir()
        except OSError:
            pass


@dataclass(frozen=True)
class StudyPaths:
    """The folders of one sweep study: ``<runs_root>/sweeps/<study>/``."""

    root: Path

    @classmethod
    def of(cls, runs_root: Path, study: str) -> StudyPaths:
        return cls(Path(runs_root) / SWEEPS_DIR_NAME / study)

    @property
    def storage(self) -> Path:
        """The default SQLite study storage."""
        return self.root / STUDY_STORAGE_NAME

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / DEFAULT_CHECKPOINTS_DIR

    @property
    def runs_dir(self) -> Path:
        return self.root / DEFAULT_RUNS_DIR

    def run(self, name: str) -> RunPaths:
        return RunPaths.of(name, self.checkpoints_dir, self.runs_dir)

    def trial_file(self, run: str) -> Path:
        """``sweep_trial.json`` of the trial trained as ``run``."""
        return self.checkpoints_dir / run / SWEEP_TRIAL_NAME
