"""Exporting a checkpoint as a Stable-Baselines3 model zip (``robot6 export``), so that
``SAC.load(path)`` (or ``TQC.load``) gives the checkpoint's policy to any SB3 script."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.resume import model_from_checkpoint


def export_sb3(checkpoint_path: Path, path: Path) -> OffPolicyAlgorithm:
    """Write the checkpoint at ``checkpoint_path`` as an SB3 ``.zip`` at ``path`` (atomically)
    and return the model.

    The zip holds what SB3's own ``save`` holds: actor, critics and their targets, the three
    optimizers, log-alpha, the spaces and the run's hyperparameters, so
    ``SAC.load(path, env=...)`` can also train on. It holds no replay buffer and none of the
    exact-resume state; ``robot6 train --resume-ckpt`` is the way to continue a run exactly.

    :param checkpoint_path: a robot6 checkpoint
    :param path: the ``.zip`` to write
    :raises CheckpointError: for a missing or damaged checkpoint
    :raises CheckpointWriteError: when the file cannot be written
    """
    # model_from_checkpoint allocates a small buffer but records the run's buffer_size, so
    # that training on after SB3's load allocates what the run used.
    model = model_from_checkpoint(load_checkpoint(checkpoint_path), device="cpu")
    buffer = io.BytesIO()
    model.save(buffer)
    model.env.close()
    atomic_write_bytes(Path(path), buffer.getvalue())
    return model


def max_prediction_difference(model: OffPolicyAlgorithm, path: Path, samples: int = 100) -> float:
    """Load the zip at ``path`` with SB3 and return the largest absolute difference between
    its deterministic actions and ``model``'s on ``samples`` random observations.

    :param model: the model the zip was written from
    :param path: the exported ``.zip``
    :param samples: observations drawn from the observation space (seeded, reproducible)
    """
    loaded = type(model).load(Path(path), device="cpu")
    space = model.observation_space
    space.seed(0)
    observations = np.stack([space.sample() for _ in range(samples)])
    expected, _ = model.predict(observations, deterministic=True)
    actual, _ = loaded.predict(observations, deterministic=True)
    return float(np.max(np.abs(np.asarray(expected) - np.asarray(actual))))
