"""Gymnasium PyBullet environments for a 6-DOF arm (import name ``robot6_envs``).

Importing this package registers ``Robot6Reach-v0`` with Gymnasium (once per process)::

    import gymnasium as gym
    import robot6_envs

    env = gym.make(robot6_envs.ENV_ID, control="ee", reward_type="dense")
"""

from gymnasium.envs.registration import register, registry

import robot6_envs.native_output  # noqa: F401  (first: imports pybullet without its banner)
from robot6_envs.reach_env import ENV_ID, MAX_EPISODE_STEPS, Robot6ReachEnv
from robot6_envs.task import SUCCESS_DISTANCE

__all__ = ["ENV_ID", "MAX_EPISODE_STEPS", "SUCCESS_DISTANCE", "Robot6ReachEnv"]

if ENV_ID not in registry:
    register(
        id=ENV_ID,
        entry_point="robot6_envs.reach_env:Robot6ReachEnv",
        max_episode_steps=MAX_EPISODE_STEPS,
    )
