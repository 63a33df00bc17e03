"""What a checkpoint must hold, checked before anything uses it, and older formats brought
up to date.

A loaded file is untrusted: it may be truncated, edited, from another program or made to
attack. Validation names the first problem it finds (key, type, NaN) as a
:class:`~robot6_sb3.errors.CheckpointError`; nothing else in the package has to guess.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from robot6_sb3.errors import CheckpointError
from robot6_sb3.layout import (
    ALPHA_OPT,
    BEST_EVAL,
    BEST_REWARD,
    ENV_STATE,
    EPISODE,
    GLOBAL_STEP,
    LOG_ALPHA,
    METADATA,
    MODEL,
    NETWORK_KEYS,
    OPTIMIZER_KEYS,
    POLICY_OPT,
    Q_OPT,
    REPLAY,
    REQUIRED_KEYS,
    RNG_STATE,
    TRAINING_STATE,
    WALL_TIME,
)
from robot6_sb3.model_state import SB3_PREFIXES, STATE_DICTS, TENSORS
from robot6_sb3.rng import rng_problem
from robot6_sb3.run_metadata import RunMetadata

Checkpoint = dict[str, Any]


def tensors_in(value: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Every tensor in nested dicts/lists, with its dotted path."""
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from tensors_in(item, f"{prefix}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from tensors_in(item, f"{prefix}[{index}]")


def _kind(value: Any) -> str:
    if isinstance(value, (str, int, float)):
        return f"{type(value).__name__} {value!r}"[:80]
    return type(value).__name__


def validate_checkpoint(checkpoint: Any, source: Path | str = "checkpoint") -> None:
    """Check keys, types, finiteness and metadata.

    :raises CheckpointError: naming the first problem
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{source} holds a {type(checkpoint).__name__}, not a checkpoint dict"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{source} lacks the checkpoint keys: {', '.join(missing)}")
    for key in (*NETWORK_KEYS, *OPTIMIZER_KEYS):
        if not isinstance(checkpoint[key], dict):
            raise CheckpointError(
                f"{source}: '{key}' must be a state dict, got {_kind(checkpoint[key])}"
            )
    for key in OPTIMIZER_KEYS:
        if not {"state", "param_groups"} <= set(checkpoint[key]):
            raise CheckpointError(f"{source}: '{key}' is not an optimizer state dict")
    for key in NETWORK_KEYS:
        for name, value in checkpoint[key].items():
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(
                    f"{source}: '{key}.{name}' must be a tensor, got {_kind(value)}"
                )
    log_alpha = checkpoint[LOG_ALPHA]
    if not isinstance(log_alpha, torch.Tensor) or log_alpha.numel() > 1:
        raise CheckpointError(
            f"{source}: '{LOG_ALPHA}' must be a tensor of at most one element, got {_kind(log_alpha)}"
        )
    for key in (GLOBAL_STEP, EPISODE):
        value = checkpoint[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CheckpointError(
                f"{source}: '{key}' must be a non-negative int, got {_kind(value)}"
            )
    best = checkpoint[BEST_REWARD]
    if not isinstance(best, (int, float)) or isinstance(best, bool) or math.isnan(best):
        raise CheckpointError(f"{source}: '{BEST_REWARD}' must be a number, got {_kind(best)}")
    RunMetadata.from_dict(checkpoint.get(METADATA), str(source))
    if checkpoint[METADATA]["format_version"] >= 2:
        _validate_model(checkpoint.get(MODEL), source)
    for key, value in (*checkpoint.items(),):
        if key in (*NETWORK_KEYS, *OPTIMIZER_KEYS, LOG_ALPHA, MODEL):
            for name, tensor in tensors_in(value, key):
                if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                    raise CheckpointError(
                        f"{source}: '{name}' holds NaN or infinite values; refusing to load it"
                    )
    for key in (TRAINING_STATE, RNG_STATE):
        if checkpoint.get(key) is not None and not isinstance(checkpoint[key], dict):
            raise CheckpointError(f"{source}: '{key}' must be a dict, got {_kind(checkpoint[key])}")
    if checkpoint.get(RNG_STATE) is not None:
        problem = rng_problem(checkpoint[RNG_STATE])
        if problem:
            raise CheckpointError(f"{source}: '{RNG_STATE}' is damaged ({problem})")
    if checkpoint.get(ENV_STATE) is not None and not isinstance(
        checkpoint[ENV_STATE], (dict, list)
    ):
        raise CheckpointError(f"{source}: '{ENV_STATE}' must be a list or dict")
    if checkpoint.get(BEST_EVAL) is not None and not isinstance(checkpoint[BEST_EVAL], dict):
        raise CheckpointError(f"{source}: '{BEST_EVAL}' must be a dict")
    replay = checkpoint.get(REPLAY)
    if replay is not None and not (
        isinstance(replay, dict) and isinstance(replay.get("lineage"), list)
    ):
        raise CheckpointError(f"{source}: '{REPLAY}' must be a dict with a 'lineage' list")
    for source_range in replay["lineage"] if replay is not None else []:
        problem = _lineage_problem(source_range)
        if problem:
            raise CheckpointError(
                f"{source}: '{REPLAY}' lineage entry {_kind(source_range)}: {problem}"
            )
    wall_time = checkpoint.get(WALL_TIME, 0.0)
    if not isinstance(wall_time, (int, float)) or isinstance(wall_time, bool):
        raise CheckpointError(f"{source}: '{WALL_TIME}' must be a number, got {_kind(wall_time)}")


def _lineage_problem(entry: Any) -> str | None:
    """What is wrong with one replay lineage range ``{"run", "run_id", "start", "stop"}``."""
    if not isinstance(entry, dict):
        return "not a dict"
    run = entry.get("run")
    if not isinstance(run, str) or not run or run in (".", "..") or "/" in run or "\\" in run:
        return "'run' must be a run folder's name"
    if not isinstance(entry.get("run_id", ""), str):
        return "'run_id' must be a string"
    start, stop = entry.get("start"), entry.get("stop")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, stop)):
        return "'start' and 'stop' must be ints"
    if not 0 <= start <= stop:
        return "'start' and 'stop' must satisfy 0 <= start <= stop"
    return None


def _validate_model(model: Any, source: Path | str) -> None:
    if not isinstance(model, dict) or not isinstance(model.get(STATE_DICTS), dict):
        raise CheckpointError(f"{source}: '{MODEL}' must be a dict with SB3's state dicts")
    for name, state in model[STATE_DICTS].items():
        if not isinstance(state, dict):
            raise CheckpointError(f"{source}: '{MODEL}.{name}' must be a state dict")
    tensors = model.get(TENSORS, {})
    if not isinstance(tensors, dict) or not all(
        isinstance(t, torch.Tensor) for t in tensors.values()
    ):
        raise CheckpointError(f"{source}: '{MODEL}.{TENSORS}' must map names to tensors")
    if "policy" not in model[STATE_DICTS]:
        raise CheckpointError(f"{source}: '{MODEL}' lacks the policy's state dict")


def migrate(checkpoint: Checkpoint, source: Path | str = "checkpoint") -> Checkpoint:
    """``checkpoint`` in the current format (a validated format-1 file gains SB3's state dicts,
    built from its twelve keys; its metadata is migrated by :class:`RunMetadata`)."""
    if MODEL in checkpoint:
        return checkpoint
    migrated = dict(checkpoint)
    policy: dict[str, torch.Tensor] = {}
    for key, prefix in SB3_PREFIXES.items():
        policy.update({prefix + name: tensor for name, tensor in checkpoint[key].items()})
    migrated[MODEL] = {
        STATE_DICTS: {
            "policy": policy,
            "actor.optimizer": checkpoint[POLICY_OPT],
            "critic.optimizer": checkpoint[Q_OPT],
            "ent_coef_optimizer": checkpoint[ALPHA_OPT],
        },
        # Format 1 always learned the entropy coefficient.
        TENSORS: {"log_ent_coef": checkpoint[LOG_ALPHA].reshape(1)},
    }
    migrated[METADATA] = RunMetadata.from_dict(checkpoint[METADATA], str(source)).to_dict()
    env_state = checkpoint.get(ENV_STATE)
    if isinstance(env_state, dict):
        # One env, saved at an episode boundary: its wrappers are as a reset leaves them.
        migrated[ENV_STATE] = [{"env": env_state, "wrappers": {}}]
    return migrated
