"""Helpers shared by the tests of the arm envs (``test_env.py``, ``test_reach_goal_env.py``)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

COMBINATIONS = list(itertools.product(["ee", "joints"], ["dense", "sparse"]))
COMBINATION_IDS = [f"{control}-{reward_type}" for control, reward_type in COMBINATIONS]
"""Every ``control`` and ``reward_type`` pair the envs take."""


def random_actions(env: gym.Env, n: int, seed: int = 0) -> np.ndarray:
    """``n`` uniform actions in ``[-1, 1]``, the same for the same seed."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, *env.action_space.shape)).astype(np.float32)


def assert_plain(value: Any, path: str = "state") -> None:
    """Only exact builtin types (``np.float64`` subclasses float, so ``type(...) is`` it is)."""
    if type(value) in (dict, list):
        items = value.items() if type(value) is dict else enumerate(value)
        for key, item in items:
            assert type(value) is list or type(key) is str, f"{path} has a non-str key {key!r}"
            assert_plain(item, f"{path}[{key!r}]")
    else:
        assert type(value) in (int, float, bool, str), f"{path} is a {type(value).__name__}"


def assert_set_state_continues(
    source: Any,
    restored: Any,
    rollout: Callable[[Any, np.ndarray], list],
    observation_bytes: Callable[[Any], Any],
) -> None:
    """``restored.set_state(source.get_state())`` (through JSON) continues ``source``'s episode
    and its next reset bitwise, whatever ``restored`` did before."""
    source.reset(seed=11)
    actions = random_actions(source, 60, seed=5)
    snapshot_observation = rollout(source, actions[:30])[-1][0]
    state = source.get_state()
    expected = rollout(source, actions[30:50])
    expected_reset = source.reset()

    restored.reset()
    rollout(restored, actions[50:60])  # a different history, which must not matter
    observation = restored.set_state(json.loads(json.dumps(state)))
    assert observation_bytes(observation) == snapshot_observation
    assert restored.get_state() == state
    assert rollout(restored, actions[30:50]) == expected
    reset_observation, reset_info = restored.reset()
    assert observation_bytes(reset_observation) == observation_bytes(expected_reset[0])
    assert reset_info == expected_reset[1]
