"""The checkpoint file (SPEC 5): build one from a model, apply one to a model, save it
atomically, load it safely.

Every value is a tensor, number, string, bool, ``None``, list or dict, so a file always loads
with ``torch.load(..., weights_only=True)``; anything that would need pickle is refused.
Validation and the migration of older files live in :mod:`robot6_sb3.checkpoint_schema`.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from robot6_sb3.atomic import atomic_write
from robot6_sb3.checkpoint_schema import Checkpoint, migrate, validate_checkpoint
from robot6_sb3.errors import CheckpointError
from robot6_sb3.layout import (
    BEST_EVAL,
    BEST_REWARD,
    ENV_STATE,
    EPISODE,
    GLOBAL_STEP,
    METADATA,
    MODEL,
    REPLAY,
    RNG_STATE,
    TRAINING_STATE,
    WALL_TIME,
)
from robot6_sb3.model_state import (
    apply_counters,
    apply_networks,
    capture_counters,
    capture_networks,
    capture_noise,
    check_last_observation,
    check_noise,
    documented_views,
)
from robot6_sb3.run_metadata import RunMetadata

__all__ = [
    "Checkpoint",
    "Progress",
    "apply_checkpoint",
    "build_checkpoint",
    "check_continuation",
    "load_checkpoint",
    "metadata_of",
    "save_checkpoint",
    "validate_checkpoint",
]


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


def build_checkpoint(
    model: OffPolicyAlgorithm,
    progress: Progress,
    metadata: RunMetadata,
    exact_state: dict[str, Any],
) -> Checkpoint:
    """The checkpoint dict of ``model`` at ``progress``.

    :param model: a model of a supported algorithm
    :param progress: episode, global_step, best_reward and wall time to record
    :param metadata: what describes the run
    :param exact_state: the RNG states, env state and replay reference (``None`` values for
        what the run cannot record), and the best periodic evaluation, if any
    """
    networks = capture_networks(model)
    counters = capture_counters(model)
    counters["action_noise"] = capture_noise(model.action_noise)
    checkpoint: Checkpoint = {
        **documented_views(networks),
        GLOBAL_STEP: int(progress.global_step),
        EPISODE: int(progress.episode),
        BEST_REWARD: float(progress.best_reward),
        MODEL: networks,
        METADATA: metadata.to_dict(),
        TRAINING_STATE: counters,
        WALL_TIME: float(progress.wall_time_s),
    }
    checkpoint.update({key: exact_state.get(key) for key in (RNG_STATE, ENV_STATE, REPLAY)})
    if exact_state.get(BEST_EVAL) is not None:
        checkpoint[BEST_EVAL] = exact_state[BEST_EVAL]
    return checkpoint


def apply_checkpoint(model: OffPolicyAlgorithm, checkpoint: Checkpoint) -> None:
    """Load the networks, optimizers, entropy coefficient and SB3's counters of
    ``checkpoint`` into ``model``, which must be built for the same algorithm and settings.

    :raises IncompatibleCheckpointError: when the networks do not fit the model, or the
        counters are damaged
    """
    apply_networks(model, checkpoint[MODEL])
    apply_counters(model, checkpoint[TRAINING_STATE])


def check_continuation(model: OffPolicyAlgorithm, checkpoint: Checkpoint) -> None:
    """What continuing to train ``model`` from ``checkpoint`` needs beyond
    :func:`apply_checkpoint`: its last observation fits the model's envs, and its action
    noise state fits the model's noise (applied when ``learn`` starts).

    :raises IncompatibleCheckpointError: naming what does not fit
    """
    check_last_observation(model, model._last_obs)
    check_noise(model.action_noise, checkpoint[TRAINING_STATE].get("action_noise"))


def metadata_of(checkpoint: Checkpoint) -> RunMetadata:
    """The typed metadata of a loaded (validated) checkpoint."""
    return RunMetadata.from_dict(checkpoint[METADATA])


def save_checkpoint(checkpoint: Checkpoint, path: Path) -> None:
    """Write ``checkpoint`` to ``path`` atomically (the old file stays until the new one is whole)."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getbuffer()
    atomic_write(Path(path), lambda handle: handle.write(data))


def load_checkpoint(path: Path) -> Checkpoint:
    """Read, validate and (for older formats) migrate a checkpoint onto the CPU, never running
    pickled code.

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
                f"refused to load {path}: it needs pickle to run code ({_refused_global(exc)}); "
                "checkpoints from robot6 never do, so the file may be malicious"
            ) from None
        raise CheckpointError(
            f"{path} is not a readable checkpoint: {_describe(path, exc)}"
        ) from None
    validate_checkpoint(checkpoint, path)
    return migrate(checkpoint, path)


def _refused_global(exc: BaseException) -> str:
    """What torch's safe unpickler refused, without its advice to load unsafely."""
    for line in str(exc).splitlines():
        line = line.strip()
        if line.startswith("WeightsUnpickler error:"):
            return line.removeprefix("WeightsUnpickler error:").strip()[:200]
    return type(exc).__name__


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
        return f"unrecognised binary content ({type(exc).__name__})"
    return "it is a text file, not a checkpoint"
