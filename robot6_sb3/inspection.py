"""What a checkpoint holds, for ``robot6 inspect``: metadata, tensors, counters, size, and
whether resuming it would be exact (its replay log is on disk)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from robot6_sb3.checkpoint import Checkpoint, load_checkpoint, metadata_of
from robot6_sb3.checkpoint_schema import tensors_in
from robot6_sb3.exactness import exactness, replay_root
from robot6_sb3.layout import (
    BEST_REWARD,
    EPISODE,
    GLOBAL_STEP,
    LOG_ALPHA,
    METADATA,
    REPLAY,
    REPLAY_DIR_NAME,
    STATE_DICT_KEYS,
    TRAINING_STATE,
    WALL_TIME,
)
from robot6_sb3.replay_log import lineage_size
from robot6_sb3.resume_point import foreign_to_folder

METADATA_FIELDS = (
    "format_version",
    "algo",
    "policy",
    "env_id",
    "env_kwargs",
    "n_envs",
    "vec_env",
    "obs_dim",
    "act_dim",
    "observation_space",
    "action_space",
    "model_kwargs",
    "seed",
    "device",
    "engine",
    "run_name",
    "run_id",
    "parent",
    "labels",
    "settings",
    "exact",
    "inexact_reasons",
    "versions",
    "created",
)


@dataclass(frozen=True)
class TensorInfo:
    """One tensor of the checkpoint."""

    key: str
    """Dotted path, e.g. ``policy.mu.weight`` or ``q_opt.state.0.exp_avg``."""
    shape: list[int]
    dtype: str


@dataclass(frozen=True)
class CheckpointSummary:
    """Everything ``robot6 inspect`` reports about one file."""

    path: str
    size_bytes: int
    metadata: dict[str, Any]
    """The metadata fields in :data:`METADATA_FIELDS` (``None`` where a file lacks one)."""
    counters: dict[str, Any]
    """episode, global_step, best_reward, wall_time_s and SB3's own counters."""
    keys: list[str]
    """Top-level keys of the file, in file order."""
    tensors: list[TensorInfo]
    exact: bool
    """Whether resuming continues bitwise like the uninterrupted run."""
    exact_reason: str
    """Why (or why not)."""
    replay_transitions: int | None
    """Buffer rows the checkpoint's replay lineage covers (``None`` without a buffer)."""
    foreign: str | None = None
    """Why the file is not its folder's own (copied from another run), or ``None``."""
    replay_bytes: int | None = None
    """Disk taken by the replay segments of the runs its lineage names (``None``: no log)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tensors(checkpoint: Checkpoint) -> list[TensorInfo]:
    """Every tensor of the twelve documented keys, once (``model`` holds the same ones)."""
    return [
        TensorInfo(name, list(tensor.shape), str(tensor.dtype).removeprefix("torch."))
        for key in (*STATE_DICT_KEYS, LOG_ALPHA)
        for name, tensor in tensors_in(checkpoint[key], key)
    ]


def _replay_bytes(checkpoint: Checkpoint, path: Path) -> int | None:
    """Bytes of the replay segments of the runs the checkpoint's lineage names."""
    replay = checkpoint.get(REPLAY)
    if replay is None:
        return None
    root = replay_root(checkpoint, path)
    folders = {root / str(source["run"]) / REPLAY_DIR_NAME for source in replay["lineage"]}
    return sum(f.stat().st_size for folder in folders if folder.is_dir() for f in folder.iterdir())


def inspect_checkpoint(path: Path) -> CheckpointSummary:
    """Load ``path`` (safely, validated) and describe it.

    :param path: a robot6 ``.pth`` checkpoint
    :raises CheckpointError: when it is not a valid checkpoint
    """
    path = Path(path)
    checkpoint = load_checkpoint(path)
    metadata = checkpoint[METADATA]
    training = checkpoint.get(TRAINING_STATE) or {}
    log_alpha = checkpoint[LOG_ALPHA]
    counters = {
        EPISODE: checkpoint[EPISODE],
        GLOBAL_STEP: checkpoint[GLOBAL_STEP],
        BEST_REWARD: checkpoint[BEST_REWARD],
        WALL_TIME: checkpoint.get(WALL_TIME),
        "n_updates": training.get("n_updates"),
        "sb3_episode_num": training.get("episode_num"),
        "log_alpha": float(log_alpha.reshape(-1)[0]) if log_alpha.numel() else None,
    }
    verdict = exactness(checkpoint, path)
    replay = checkpoint.get(REPLAY)
    return CheckpointSummary(
        path=str(path),
        size_bytes=path.stat().st_size,
        metadata={name: metadata.get(name) for name in METADATA_FIELDS}
        | {"engine": metadata_of(checkpoint).engine},
        counters=counters,
        keys=list(checkpoint),
        tensors=_tensors(checkpoint),
        exact=verdict.exact,
        exact_reason=verdict.reason,
        foreign=foreign_to_folder(path, metadata_of(checkpoint)),
        replay_transitions=None if replay is None else lineage_size(replay["lineage"]),
        replay_bytes=_replay_bytes(checkpoint, path),
    )
