"""Gymnasium PyBullet environments for a 6-DOF arm (import name ``robot6_envs``).

Importing this package registers ``Robot6Reach-v0`` (flat observation) and
``Robot6ReachGoal-v0`` (goal-conditioned ``Dict`` observation, for HER) with Gymnasium, once
per process::

    import gymnasium as gym
    import robot6_envs

    env = gym.make(robot6_envs.ENV_ID, control="ee", reward_type="dense")
    goal_env = gym.make(robot6_envs.GOAL_ENV_ID, control="ee", reward_type="sparse")
"""

from gymnasium.envs.registration import register, registry

import robot6_envs.simulation  # noqa: F401  (first: imports pybullet without its banner)
from robot6_envs.reach_base_env import MAX_EPISODE_STEPS
from robot6_envs.reach_env import ENV_ID, Robot6ReachEnv
from robot6_envs.reach_goal_env import GOAL_ENV_ID, Robot6ReachGoalEnv
from robot6_envs.task import SUCCESS_DISTANCE

__all__ = [
    "ENV_ID",
    "GOAL_ENV_ID",
    "MAX_EPISODE_STEPS",
    "SUCCESS_DISTANCE",
    "Robot6ReachEnv",
    "Robot6ReachGoalEnv",
]

for env_id, entry_point in (
    (ENV_ID, "robot6_envs.reach_env:Robot6ReachEnv"),
    (GOAL_ENV_ID, "robot6_envs.reach_goal_env:Robot6ReachGoalEnv"),
):
    if env_id not in registry:
        register(id=env_id, entry_point=entry_point, max_episode_steps=MAX_EPISODE_STEPS)
