"""Where a resumed run continues from, and the run folders put in order before it writes.

Resuming a run's ``latest.pth`` in its own folder *continues* the run: the same folders, with
the CSV rows and replay rows beyond the checkpoint (left by a crash or a stop) dropped first.
Resuming any other file *forks* a new run beside it: its metadata names the parent, its CSV
starts with the parent's rows before the fork point, and it reads the parent's replay log in
place. The parent is never modified.
"""

from __future__ import annotations

import contextlib
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot6_sb3.checkpoint import Checkpoint
from robot6_sb3.discovery import checkpoint_files
from robot6_sb3.episode_history import episodes_from_replay
from robot6_sb3.episodes import EpisodeRecord
from robot6_sb3.errors import RepairedLogWarning, ReplayHistoryError, UsageError
from robot6_sb3.evaluation import EvaluationResult
from robot6_sb3.exactness import replay_root
from robot6_sb3.layout import (
    BEST_EVAL,
    BEST_REWARD,
    CSV_COLUMNS,
    CSV_NAME,
    EPISODE,
    EVAL_COLUMNS,
    EVAL_CSV_NAME,
    GLOBAL_STEP,
    LATEST_NAME,
    METADATA,
    REPLAY,
    RNG_STATE,
    TRAINING_STATE,
    WALL_TIME,
    run_folder_of,
)
from robot6_sb3.periodic_evaluation import result_from_state
from robot6_sb3.replay_log import ReplayLog, lineage_size
from robot6_sb3.run_identity import (
    RunIdentity,
    belongs_to,
    is_run_folder,
    read_identity,
    write_identity,
)
from robot6_sb3.run_metadata import RunMetadata
from robot6_sb3.training_csv import read_rows, write_rows


def continues_run(path: Path, metadata: RunMetadata) -> bool:
    """Whether resuming ``path`` continues its run in place: it is a ``latest.pth`` in the
    folder of its own run. Any other file forks."""
    identity = RunIdentity(metadata.run_name, metadata.run_id)
    return Path(path).name == LATEST_NAME and belongs_to(run_folder_of(path), identity)


def foreign_to_folder(path: Path, metadata: RunMetadata) -> str | None:
    """Why ``path`` is not its folder's own file (copied from another run), or ``None``."""
    folder = run_folder_of(path)
    if not is_run_folder(folder) or belongs_to(
        folder, RunIdentity(metadata.run_name, metadata.run_id)
    ):
        return None
    owner = read_identity(folder)
    here = f"this folder's run {owner.run_name}" if owner else f"the run of folder {folder.name}"
    return (
        f"copied from run {metadata.run_name} (id {metadata.run_id}), not {here}: resuming it "
        "forks and leaves this folder as it is"
    )


def fork_root(path: Path) -> Path | None:
    """Where a fork of ``path`` goes: beside the run folder the file is in (never inside
    it), or ``None`` for a file outside any run folder."""
    folder = run_folder_of(path)
    return folder.parent if is_run_folder(folder) else None


def new_run_id() -> str:
    """A random id for a new run (or fork), so its files can be told from another run's."""
    return secrets.token_hex(8)


@dataclass
class ResumePoint:
    """A loaded checkpoint a callback continues from."""

    checkpoint: Checkpoint
    source: Path
    """The checkpoint file."""
    continues: bool
    """True: the run goes on in its own folders; False: a new run forks from this file."""
    use_replay: bool = True
    """Whether the replay buffer was rebuilt from the checkpoint's lineage."""

    @property
    def metadata(self) -> RunMetadata:
        return RunMetadata.from_dict(self.checkpoint[METADATA])

    @property
    def episode(self) -> int:
        return int(self.checkpoint[EPISODE])

    @property
    def global_step(self) -> int:
        return int(self.checkpoint[GLOBAL_STEP])

    @property
    def best_reward(self) -> float:
        return float(self.checkpoint[BEST_REWARD])

    @property
    def wall_time(self) -> float:
        return float(self.checkpoint.get(WALL_TIME, 0.0))

    @property
    def lineage(self) -> list[dict[str, Any]]:
        replay = self.checkpoint.get(REPLAY)
        if replay is None or not self.use_replay:
            return []
        return [dict(source) for source in replay["lineage"]]

    @property
    def best_evaluation(self) -> EvaluationResult | None:
        """The best periodic evaluation of the run so far (``None``: none yet)."""
        return result_from_state(self.checkpoint.get(BEST_EVAL))

    @property
    def randomness(self) -> dict[str, Any]:
        """What the callback restores when the first rollout starts: the RNG states and the
        action noise (SB3 resets the noise at the start of ``learn``)."""
        return {
            RNG_STATE: self.checkpoint.get(RNG_STATE),
            "action_noise": self.checkpoint[TRAINING_STATE].get("action_noise"),
        }

    def parent(self) -> dict[str, Any] | None:
        """Where the resumed run branched off: for a fork, this checkpoint; for a run that
        continues, its own parent (``None`` unless it was a fork itself)."""
        metadata = self.metadata
        if self.continues:
            return metadata.parent
        return {
            "run": metadata.run_name,
            "run_id": metadata.run_id,
            "checkpoint": str(self.source),
            "episode": self.episode,
        }

    def log_dir(self) -> Path | None:
        """The log folder of the run the checkpoint belongs to, where it can be found."""
        saved = self.metadata.settings.log_dir
        if saved is None:
            return None
        folder = (self.source.parent / saved).resolve()
        return folder if folder.is_dir() else None


def prepare_run_folders(
    save_path: Path, log_path: Path, identity: RunIdentity, resume: ResumePoint | None
) -> list[EpisodeRecord]:
    """Make the run's folders ready before its first save (the caller holds the run's lock):
    check they are this run's (or new), mark them as this run's, and put the files a resume
    continues back in the checkpoint's state. Returns the episodes rebuilt for a deleted CSV.

    :raises UsageError: when the run would write into another run's folder
    """
    continuing = resume is not None and resume.continues
    for folder in dict.fromkeys((save_path, log_path)):
        _check_owner(folder, identity, continuing)
    if not continuing:
        existing = checkpoint_files(save_path) if save_path.is_dir() else []
        if existing:
            raise UsageError(
                f"{save_path} already holds a run's checkpoints ({existing[0].name}); continue "
                "it with load_resumable(), or give the new run its own folder"
            )
        csv = log_path / CSV_NAME
        if csv.exists() and csv.stat().st_size and log_path != save_path:
            raise UsageError(
                f"{csv} already holds another run's episodes; give the new run its own log folder"
            )
    for folder in dict.fromkeys((save_path, log_path)):
        folder.mkdir(parents=True, exist_ok=True)
        if read_identity(folder) is None:
            write_identity(folder, identity)
    if resume is None:
        return []
    if continuing and resume.use_replay:
        log = ReplayLog(save_path.parent, save_path.name, identity.run_id)
        log.drop_after(lineage_size(resume.lineage))
    logs = log_path if continuing else resume.log_dir()
    evaluations = read_rows(logs / EVAL_CSV_NAME) if logs is not None else []
    if evaluations:
        kept = [row for row in evaluations if int(row["episode"]) <= resume.episode]
        write_rows(log_path / EVAL_CSV_NAME, kept, EVAL_COLUMNS)
    rows = read_rows(logs / CSV_NAME) if logs is not None else []
    return restore_csv(log_path / CSV_NAME, rows, resume)


def restore_csv(
    target: Path, rows: list[dict[str, str]], resume: ResumePoint
) -> list[EpisodeRecord]:
    """Write ``target`` with the run's episodes before the checkpoint's: its CSV ``rows``, and
    for those missing (a deleted CSV or log folder) rows rebuilt from the replay log, with a
    warning. Returns the rebuilt episodes (TensorBoard gets them too)."""
    kept = {int(row["episode"]): row for row in rows if int(row["episode"]) < resume.episode}
    missing = [episode for episode in range(resume.episode) if episode not in kept]
    rebuilt: list[EpisodeRecord] = []
    if missing:
        replay = resume.checkpoint.get(REPLAY)
        history = None
        if replay is not None:
            root = replay_root(resume.checkpoint, resume.source)
            with contextlib.suppress(ReplayHistoryError):
                history = episodes_from_replay(root, replay["lineage"], resume.metadata.n_envs)
        if history is not None and len(history) >= resume.episode:
            rebuilt = [history[episode] for episode in missing]
            kept.update(
                {r.episode: dict(zip(CSV_COLUMNS, r.csv_row(), strict=True)) for r in rebuilt}
            )
            warnings.warn(
                f"{target} lacked {len(missing)} of the run's {resume.episode} episodes; "
                f"rebuilt them from the replay log (rewards summed from its float32 copies, "
                "success and final distance unknown)",
                RepairedLogWarning,
                stacklevel=2,
            )
        else:
            warnings.warn(
                f"{target} lacks {len(missing)} of the run's {resume.episode} episodes and the "
                "replay log cannot rebuild them; the CSV goes on without them",
                RepairedLogWarning,
                stacklevel=2,
            )
    write_rows(target, [kept[episode] for episode in sorted(kept)])
    return rebuilt


def _check_owner(folder: Path, identity: RunIdentity, continuing: bool) -> None:
    found = read_identity(folder)
    if found is not None and found != identity:
        raise UsageError(
            f"{folder} belongs to run {found.run_name} (id {found.run_id}), not to run "
            f"{identity.run_name} (id {identity.run_id}); it is left as it is. "
            + (
                "Resume a checkpoint of the folder's own run, or give this one other folders"
                if continuing
                else "Give the new run its own folders"
            )
        )
