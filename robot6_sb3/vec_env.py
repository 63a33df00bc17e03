"""The VecEnv robot6 trains on: ``Monitor``-wrapped envs made by id, in one process
(``DummyVecEnv``) or one process each (``SubprocVecEnv``)."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

VEC_ENVS: dict[str, type[VecEnv]] = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}


def _monitored(env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
    return Monitor(gym.make(env_id, **env_kwargs))


def make_env(
    env_id: str, env_kwargs: dict[str, Any], n_envs: int = 1, vec_env: str = "dummy"
) -> VecEnv:
    """The training env: ``n_envs`` ``Monitor``-wrapped envs in a Dummy or Subproc VecEnv."""
    factory = functools.partial(_monitored, env_id, dict(env_kwargs))
    return VEC_ENVS[vec_env]([factory] * n_envs)
