"""Every random number generator that shapes a run's future, as ``weights_only``-loadable values.

SB3 seeds these once at construction and never saves them: Python ``random``, NumPy's global
generator (the replay buffer samples batches with it), torch's CPU (and CUDA) generator
(policy noise, SAC's reparameterised samples) and the action space's generator (warm-up
actions). The env's own ``np_random`` travels with the env state.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from robot6_sb3.model_config import to_plain


def bit_generator_state(generator: np.random.Generator) -> dict[str, Any]:
    """A NumPy ``Generator``'s state as plain ints, strings and lists."""
    return to_plain(generator.bit_generator.state)


def set_bit_generator_state(generator: np.random.Generator, state: dict[str, Any]) -> None:
    """Inverse of :func:`bit_generator_state`."""
    generator.bit_generator.state = state


def capture_rng(action_space: spaces.Space, cuda: bool) -> dict[str, Any]:
    """The states of all process-wide generators and of ``action_space``'s generator.

    :param action_space: the model's action space (sampled during warm-up)
    :param cuda: also capture the CUDA generators (only when training on a GPU)
    """
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": to_plain(np.random.get_state(legacy=False)),
        "torch": torch.get_rng_state(),
        "action_space": bit_generator_state(action_space.np_random),
    }
    if cuda and torch.cuda.is_available():
        state["torch_cuda"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng(action_space: spaces.Space, state: dict[str, Any]) -> None:
    """Put every generator back to the state :func:`capture_rng` recorded."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    set_bit_generator_state(action_space.np_random, state["action_space"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
