"""What a checkpoint holds, for ``robot6 inspect``: metadata, tensors, counters, size, and
whether resuming it would be exact (its replay log is on disk)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from robot6_sb3.checkpoint import load_checkpoint, metadata_of
from robot6_sb3.exactness import exactness
from robot6_sb3.layout import (
    BEST_REWARD,
    EPISODE,
    GLOBAL_STEP,
    LOG_ALPHA,
    METADATA,
    REPLAY,
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
    """Transitions the checkpoint's replay lineage covers (``None`` without a buffer)."""
    foreign: str | None = None
    """Why the file is not its folder's own (copied from another run), or ``None``."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tensors(value: Any, prefix: str) -> list[TensorInfo]:
    if isinstance(value, torch.Tensor):
        return [TensorInfo(prefix, list(value.shape), str(value.dtype).removeprefix("torch."))]
    if isinstance(value, dict):
        return [info for key, item in value.items() for info in _tensors(item, f"{prefix}.{key}")]
    if isinstance(value, list):
        return [info for i, item in enumerate(value) for info in _tensors(item, f"{prefix}.{i}")]
    return []


def inspect_checkpoint(path: Path) -> CheckpointSummary:
    """Load ``path`` (safely, validated) and describe it.

    :param path: a robot6 ``.pth`` checkpoint
    :raises CheckpointError: when it is not a valid checkpoint
    """
    path = Path(path)
    checkpoint = load_checkpoint(path)
    metadata = checkpoint[METADATA]
    training = checkpoint.get(TRAINING_STATE, {})
    counters = {
        EPISODE: checkpoint[EPISODE],
        GLOBAL_STEP: checkpoint[GLOBAL_STEP],
        BEST_REWARD: checkpoint[BEST_REWARD],
        WALL_TIME: checkpoint.get(WALL_TIME),
        "n_updates": training.get("n_updates"),
        "sb3_episode_num": training.get("episode_num"),
        "log_alpha": float(checkpoint[LOG_ALPHA].reshape(-1)[0])
        if checkpoint[LOG_ALPHA].numel()
        else None,
    }
    verdict = exactness(checkpoint, path)
    replay = checkpoint.get(REPLAY)
    return CheckpointSummary(
        path=str(path),
        size_bytes=path.stat().st_size,
        metadata={name: metadata.get(name) for name in METADATA_FIELDS},
        counters=counters,
        keys=list(checkpoint),
        tensors=[
            info for key in (*STATE_DICT_KEYS, LOG_ALPHA) for info in _tensors(checkpoint[key], key)
        ],
        exact=verdict.exact,
        exact_reason=verdict.reason,
        foreign=foreign_to_folder(path, metadata_of(checkpoint)),
        replay_transitions=None if replay is None else lineage_size(replay["lineage"]),
    )
