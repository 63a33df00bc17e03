"""The checkpoint format (SPEC 5): build one from an SB3 SAC/TQC model, apply one to a model,
save atomically, load safely and validate.

Every value is a tensor, number, string, bool, ``None``, list or dict, so a file always loads
with ``torch.load(..., weights_only=True)``; anything that would need pickle is refused.
"""

from __future__ import annotations

import io
import math
import pickle
import platform
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import stable_baselines3
import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from robot6_sb3 import __version__
from robot6_sb3.atomic import atomic_write
from robot6_sb3.errors import CheckpointError
from robot6_sb3.layout import (
    ALPHA_OPT,
    BEST_REWARD,
    ENV_STATE,
    EPISODE,
    FORMAT_VERSION,
    GLOBAL_STEP,
    LOG_ALPHA,
    METADATA,
    POLICY,
    POLICY_OPT,
    Q1,
    Q1_TARGET,
    Q2,
    Q2_TARGET,
    Q_OPT,
    REPLAY,
    REQUIRED_KEYS,
    RNG_STATE,
    STATE_DICT_KEYS,
    TRAINING_STATE,
    WALL_TIME,
)

Checkpoint = dict[str, Any]

OPTIMIZER_KEYS = (POLICY_OPT, Q_OPT, ALPHA_OPT)
REQUIRED_METADATA = {
    "format_version": int,
    "algo": str,
    "env_id": str,
    "env_kwargs": dict,
    "obs_dim": int,
    "act_dim": int,
    "hyperparameters": dict,
    "run_name": str,
}


@dataclass(frozen=True)
class Progress:
    """Where training stands at a checkpoint."""

    episode: int
    """Episodes completed; the next CSV row has this index."""
    global_step: int
    """SB3's ``num_timesteps``."""
    best_reward: float
    """Best episode reward so far (``-inf`` before the first episode)."""
    wall_time_s: float = 0.0
    """Seconds spent training, over every session of the run."""


def package_versions() -> dict[str, str]:
    """Versions of what shaped the checkpoint, stored in its metadata."""
    import pybullet  # noqa: F401  (imported for its presence; it has no __version__)
    import sb3_contrib

    versions = {
        "robot6_sb3": __version__,
        "stable_baselines3": stable_baselines3.__version__,
        "sb3_contrib": sb3_contrib.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    # torch.__version__ is a str subclass that would need pickle to load.
    return {name: str(version) for name, version in versions.items()}


def _critics(model: OffPolicyAlgorithm) -> tuple[torch.nn.Module, ...]:
    """``(q1, q2, q1_target, q2_target)``: SAC's ``qf0/qf1``, or TQC's two quantile critics."""
    critic, target = model.critic, model.critic_target
    if len(critic.q_networks) != 2:
        raise CheckpointError(
            f"the checkpoint format holds two critics; this model has n_critics={len(critic.q_networks)}"
        )
    return (*critic.q_networks, *target.q_networks)


def _clone_state(state: dict[str, Any]) -> dict[str, Any]:
    """A deep copy on the CPU, so later training steps cannot change a built checkpoint."""
    return {
        key: (
            value.detach().to("cpu", copy=True)
            if isinstance(value, torch.Tensor)
            else _clone_state(value)
            if isinstance(value, dict)
            else [_clone_state(v) if isinstance(v, dict) else v for v in value]
            if isinstance(value, list)
            else value
        )
        for key, value in state.items()
    }


def capture_training_state(model: OffPolicyAlgorithm) -> dict[str, Any]:
    """SB3's internal counters and buffers that influence the future of a run."""
    return {
        "num_timesteps": int(model.num_timesteps),
        "episode_num": int(model._episode_num),
        "n_updates": int(model._n_updates),
        "current_progress_remaining": float(model._current_progress_remaining),
        "last_obs": torch.as_tensor(np.array(model._last_obs)).clone(),
        "last_episode_starts": torch.as_tensor(np.array(model._last_episode_starts)).clone(),
        "ep_info_buffer": [
            {key: float(value) for key, value in info.items()}
            for info in model.ep_info_buffer or []
        ],
        "ep_success_buffer": [bool(success) for success in model.ep_success_buffer or []],
    }


def apply_training_state(model: OffPolicyAlgorithm, state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_training_state`."""
    model.num_timesteps = int(state["num_timesteps"])
    model._episode_num = int(state["episode_num"])
    model._n_updates = int(state["n_updates"])
    model._current_progress_remaining = float(state["current_progress_remaining"])
    model._last_obs = state["last_obs"].numpy().copy()
    model._last_episode_starts = state["last_episode_starts"].numpy().copy()
    window = model._stats_window_size
    model.ep_info_buffer = deque(
        (
            {k: int(v) if k == "l" else v for k, v in info.items()}
            for info in state["ep_info_buffer"]
        ),
        maxlen=window,
    )
    model.ep_success_buffer = deque(state["ep_success_buffer"], maxlen=window)


def build_checkpoint(
    model: OffPolicyAlgorithm,
    progress: Progress,
    metadata: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Checkpoint:
    """The checkpoint dict of ``model`` at ``progress``.

    :param model: a SAC or TQC model
    :param progress: episode, global_step and best_reward to record
    :param metadata: what describes the run (see :func:`robot6_sb3.trainer.run_metadata`)
    :param extra: further entries (RNG state, env state, replay reference) for exact resume
    """
    q1, q2, q1_target, q2_target = _critics(model)
    checkpoint: Checkpoint = {
        POLICY: model.actor.state_dict(),
        Q1: q1.state_dict(),
        Q2: q2.state_dict(),
        Q1_TARGET: q1_target.state_dict(),
        Q2_TARGET: q2_target.state_dict(),
        POLICY_OPT: model.actor.optimizer.state_dict(),
        Q_OPT: model.critic.optimizer.state_dict(),
        ALPHA_OPT: model.ent_coef_optimizer.state_dict(),
        LOG_ALPHA: model.log_ent_coef,
    }
    checkpoint = _clone_state(checkpoint)
    checkpoint[GLOBAL_STEP] = int(progress.global_step)
    checkpoint[EPISODE] = int(progress.episode)
    checkpoint[BEST_REWARD] = float(progress.best_reward)
    checkpoint[WALL_TIME] = float(progress.wall_time_s)
    checkpoint[METADATA] = metadata
    checkpoint[TRAINING_STATE] = capture_training_state(model)
    checkpoint.update(extra or {})
    return checkpoint


def apply_checkpoint(model: OffPolicyAlgorithm, checkpoint: Checkpoint) -> None:
    """Load weights, optimizer states, log-alpha and SB3's counters of ``checkpoint`` into ``model``.

    The model must have been built for the checkpoint's algo, env and net_arch.
    """
    q1, q2, q1_target, q2_target = _critics(model)
    modules = {
        POLICY: model.actor,
        Q1: q1,
        Q2: q2,
        Q1_TARGET: q1_target,
        Q2_TARGET: q2_target,
    }
    try:
        for key, module in modules.items():
            module.load_state_dict(checkpoint[key])
        model.actor.optimizer.load_state_dict(checkpoint[POLICY_OPT])
        model.critic.optimizer.load_state_dict(checkpoint[Q_OPT])
        model.ent_coef_optimizer.load_state_dict(checkpoint[ALPHA_OPT])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"the checkpoint does not fit this model: {exc}") from exc
    with torch.no_grad():
        model.log_ent_coef.copy_(checkpoint[LOG_ALPHA].to(model.log_ent_coef.device))
    if TRAINING_STATE in checkpoint:
        apply_training_state(model, checkpoint[TRAINING_STATE])
    else:
        model.num_timesteps = int(checkpoint[GLOBAL_STEP])
        model._episode_num = int(checkpoint[EPISODE])


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write ``checkpoint`` to ``path`` atomically (the old file stays until the new one is whole)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getbuffer()
    atomic_write(Path(path), lambda handle: handle.write(data))


def load_checkpoint(path: Path) -> Checkpoint:
    """Read and validate a checkpoint onto the CPU, never running pickled code.

    :raises CheckpointError: with a message saying what is wrong with the file
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if isinstance(exc, pickle.UnpicklingError) and "GLOBAL" in str(exc):
            raise CheckpointError(
                f"refused to load {path}: it needs pickle to run code ({_first_line(exc)}); "
                "checkpoints from robot6 never do, so the file may be malicious"
            ) from None
        raise CheckpointError(
            f"{path} is not a readable checkpoint: {_describe(path, exc)}"
        ) from None
    validate_checkpoint(checkpoint, path)
    return checkpoint


def _first_line(exc: BaseException) -> str:
    """The informative line of an exception message (torch's name the refused global)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith("WeightsUnpickler error:"):
            return line.removeprefix("WeightsUnpickler error:").strip()
    return lines[0] if lines else type(exc).__name__


def _describe(path: Path, exc: BaseException) -> str:
    """Why ``torch.load`` failed, in the user's terms."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if "policy.pth" in names or "data" in names:
            return "it is a Stable-Baselines3 model .zip, not a robot6 checkpoint"
        return "truncated or corrupt (a zip archive without the checkpoint's data)"
    if head.startswith(b"PK"):
        return "truncated or corrupt (an incomplete zip archive)"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"unrecognised binary content ({_first_line(exc)})"
    return "it is a text file, not a checkpoint"


def _tensors(value: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    if isinstance(value, torch.Tensor):
        yield prefix, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors(item, f"{prefix}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from _tensors(item, f"{prefix}[{index}]")


def validate_checkpoint(checkpoint: Any, source: Path | str = "checkpoint") -> None:
    """Check keys, types, finiteness and metadata; raise :class:`CheckpointError` naming the problem."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{source} holds a {type(checkpoint).__name__}, not a checkpoint dict"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"{source} lacks the checkpoint keys: {', '.join(missing)}")
    for key in STATE_DICT_KEYS:
        if not isinstance(checkpoint[key], dict):
            raise CheckpointError(
                f"{source}: '{key}' must be a state dict, got {_kind(checkpoint[key])}"
            )
    for key in OPTIMIZER_KEYS:
        if not {"state", "param_groups"} <= set(checkpoint[key]):
            raise CheckpointError(f"{source}: '{key}' is not an optimizer state dict")
    for key in (k for k in STATE_DICT_KEYS if k not in OPTIMIZER_KEYS):
        for name, value in checkpoint[key].items():
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(
                    f"{source}: '{key}.{name}' must be a tensor, got {_kind(value)}"
                )
    log_alpha = checkpoint[LOG_ALPHA]
    if not isinstance(log_alpha, torch.Tensor) or log_alpha.numel() != 1:
        raise CheckpointError(
            f"{source}: '{LOG_ALPHA}' must be a one-element tensor, got {_kind(log_alpha)}"
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
    for key in (*STATE_DICT_KEYS, LOG_ALPHA):
        for name, tensor in _tensors(checkpoint[key], key):
            if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise CheckpointError(
                    f"{source}: '{name}' holds NaN or infinite values; refusing to load it"
                )
    _validate_metadata(checkpoint.get(METADATA), source)
    for key in (TRAINING_STATE, RNG_STATE, ENV_STATE):
        if key in checkpoint and not isinstance(checkpoint[key], dict):
            raise CheckpointError(f"{source}: '{key}' must be a dict, got {_kind(checkpoint[key])}")
    replay = checkpoint.get(REPLAY)
    if replay is not None and not (
        isinstance(replay, dict) and isinstance(replay.get("lineage"), list)
    ):
        raise CheckpointError(f"{source}: '{REPLAY}' must be a dict with a 'lineage' list")


def _validate_metadata(metadata: Any, source: Path | str) -> None:
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{source} has no '{METADATA}' dict (not made by robot6?)")
    for key, kind in REQUIRED_METADATA.items():
        value = metadata.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CheckpointError(
                f"{source}: metadata '{key}' must be {kind.__name__}, got {_kind(value)}"
            )
    for key in ("labels", "parent"):
        if metadata.get(key) is not None and not isinstance(metadata[key], dict):
            raise CheckpointError(
                f"{source}: metadata '{key}' must be a dict, got {_kind(metadata[key])}"
            )
    if metadata["format_version"] > FORMAT_VERSION:
        raise CheckpointError(
            f"{source} has format version {metadata['format_version']}; this robot6-sb3 "
            f"reads up to {FORMAT_VERSION}: upgrade robot6-sb3"
        )


def _kind(value: Any) -> str:
    return (
        f"{type(value).__name__} {value!r}"
        if isinstance(value, (str, int, float))
        else type(value).__name__
    )


def is_exact(checkpoint: Checkpoint) -> bool:
    """Whether resuming ``checkpoint`` continues bitwise like the uninterrupted run."""
    return all(key in checkpoint for key in (RNG_STATE, ENV_STATE, TRAINING_STATE)) and (
        checkpoint.get(REPLAY) is not None
    )
