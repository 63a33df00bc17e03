"""Every random number generator that shapes a run's future, as ``weights_only``-loadable values.

SB3 seeds these once at construction and never saves them: Python ``random``, NumPy's global
generator (the replay buffer samples batches with it), torch's CPU (and CUDA) generator
(policy noise, SAC's reparameterised samples) and the action space's generator (warm-up
actions). The env's own ``np_random`` travels with the env state.

The two Mersenne Twister states (624 words each) are stored as int64 tensors, not lists of
ints: a checkpoint is written every episode, and pickling 1,250 separate ints cost more than
all the weights. Older checkpoints hold lists; both restore the same generator.
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
    numpy_state = np.random.get_state(legacy=False)
    key = torch.from_numpy(numpy_state["state"].pop("key").astype(np.int64))
    numpy_state = to_plain(numpy_state)
    numpy_state["state"]["key"] = key
    state: dict[str, Any] = {
        "python": [version, torch.tensor(internal, dtype=torch.int64), gauss],
        "numpy": numpy_state,
        "torch": torch.get_rng_state(),
        "action_space": bit_generator_state(action_space.np_random),
    }
    if cuda and torch.cuda.is_available():
        state["torch_cuda"] = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng(action_space: spaces.Space, state: dict[str, Any]) -> None:
    """Put every generator back to the state :func:`capture_rng` recorded."""
    random.setstate(_python_state(state))
    np.random.set_state(_numpy_state(state))
    torch.set_rng_state(state["torch"])
    set_bit_generator_state(action_space.np_random, state["action_space"])
    if "torch_cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])


def rng_problem(state: dict[str, Any]) -> str | None:
    """What is wrong with a saved :func:`capture_rng` state, or ``None`` when every generator
    takes it: each part is put into a throwaway generator of its kind, so a damaged file is
    refused when it is loaded, not when training has started."""
    try:
        random.Random().setstate(_python_state(state))
        np.random.RandomState().set_state(_numpy_state(state))
        torch.Generator().set_state(state["torch"])
        name = str(state["action_space"]["bit_generator"])
        kind = getattr(np.random, name, None)
        if not (isinstance(kind, type) and issubclass(kind, np.random.BitGenerator)):
            return f"unknown bit generator {name!r}"[:200]
        kind().state = state["action_space"]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, RuntimeError) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


def _python_state(state: dict[str, Any]) -> tuple[Any, ...]:
    """The saved Python ``random`` state as ``random.setstate`` takes it."""
    version, internal, gauss = state["python"]
    return version, tuple(_words(internal)), gauss


def _numpy_state(state: dict[str, Any]) -> dict[str, Any]:
    """The saved NumPy global state as ``set_state`` takes it (the key as uint32 words)."""
    numpy_state = {**state["numpy"], "state": dict(state["numpy"]["state"])}
    numpy_state["state"]["key"] = np.asarray(_words(numpy_state["state"]["key"]), dtype=np.uint32)
    return numpy_state


def _words(value: torch.Tensor | list[int]) -> list[int]:
    """A Mersenne Twister state as Python ints, from a tensor or (older files) a list."""
    return value.tolist() if isinstance(value, torch.Tensor) else list(value)
