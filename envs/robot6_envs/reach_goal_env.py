"""``Robot6ReachGoal-v0``: the reach task with a goal-conditioned observation, for HER.

The same arm, control modes, physics and targets as ``Robot6Reach-v0``
(:mod:`robot6_envs.reach_env`); the observation is split into the arm's own state and two
goals, and the reward is a function of the goals alone, as Gymnasium-Robotics' ``GoalEnv`` and
Stable-Baselines3's ``HerReplayBuffer`` expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from robot6_envs.reach_base_env import MAX_EPISODE_STEPS, POSITION_BOUND, ReachBaseEnv
from robot6_envs.task import goal_distance

__all__ = ["GOAL_ENV_ID", "MAX_EPISODE_STEPS", "Robot6ReachGoalEnv"]

GOAL_ENV_ID = "Robot6ReachGoal-v0"
"""The Gymnasium id this environment is registered under."""


class Robot6ReachGoalEnv(ReachBaseEnv[dict[str, np.ndarray]]):
    """Move the xArm6's end effector to a random target, observed as a goal.

    Observation: a ``Dict`` of float32 arrays, world frame, with finite bounds (values are
    clipped):

    ================= ======= ==============================================================
    key               shape   content
    ================= ======= ==============================================================
    ``observation``   (15,)   joint angles (radians), joint velocities (rad/s),
                              end-effector position (meters, (x, y, z))
    ``achieved_goal`` (3,)    end-effector position, in meters, (x, y, z)
    ``desired_goal``  (3,)    target position, in meters, (x, y, z)
    ================= ======= ==============================================================

    The reward of a step is :meth:`compute_reward` of the observed goals, so that HER can
    recompute it for relabeled goals. Action, episodes, ``info`` and the state protocol
    (:meth:`get_state`, :meth:`set_state`) are those of ``Robot6Reach-v0``: episodes are never
    terminated; ``TimeLimit`` truncates them after :data:`MAX_EPISODE_STEPS`.

    :param control: ``"ee"`` (end-effector displacement through IK) or ``"joints"``
        (joint-angle deltas).
    :param reward_type: ``"sparse"`` (-1.0 until success, the default: HER's setting) or
        ``"dense"`` (minus the distance).
    :param render_mode: ``None``, ``"rgb_array"`` (TinyRenderer, headless) or ``"human"`` (GUI).
    """

    def __init__(
        self, control: str = "ee", reward_type: str = "sparse", render_mode: str | None = None
    ) -> None:
        super().__init__(control=control, reward_type=reward_type, render_mode=render_mode)
        robot_low, robot_high = self._robot_state_bounds()
        self.observation_space = spaces.Dict(
            {
                "observation": spaces.Box(
                    robot_low.astype(np.float32), robot_high.astype(np.float32), dtype=np.float32
                ),
                "achieved_goal": _position_space(),
                # Relabeled goals are achieved ones, so both goals share one space.
                "desired_goal": _position_space(),
            }
        )

    def step(
        self, action: np.ndarray
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for one control period (``TIMESTEP * N_SUBSTEPS`` seconds)."""
        self.robot.set_action(action)
        self.sim.step()
        observation, distance = self._observe()
        info = self._info(distance)
        goals = observation["achieved_goal"], observation["desired_goal"]
        return (
            observation,
            float(self.compute_reward(*goals, info)),
            bool(self.compute_terminated(*goals, info)),
            bool(self.compute_truncated(*goals, info)),
            info,
        )

    def compute_reward(
        self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any
    ) -> np.float32 | np.ndarray:
        """The reward for reaching ``achieved_goal`` when ``desired_goal`` was asked for.

        :param achieved_goal: end-effector positions, in meters, shape (3,) or (N, 3).
        :param desired_goal: target positions, in meters, of the same shape.
        :param info: the step's ``info`` (or an array of them); not needed.
        :return: float32; a numpy scalar for shape (3,), shape (N,) for (N, 3).
        """
        return self.task.compute_reward(goal_distance(achieved_goal, desired_goal)).astype(
            np.float32
        )

    def compute_terminated(
        self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any
    ) -> np.ndarray:
        """Always False: reaching the target does not end the episode (as in Fetch).

        :return: a bool array of the batch shape (0-d for goals of shape (3,)).
        """
        return np.zeros(np.shape(achieved_goal)[:-1], dtype=bool)

    def compute_truncated(
        self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info: Any
    ) -> np.ndarray:
        """Always False: ``TimeLimit`` truncates episodes, not the env.

        :return: a bool array of the batch shape (0-d for goals of shape (3,)).
        """
        return np.zeros(np.shape(achieved_goal)[:-1], dtype=bool)

    def _observe(self) -> tuple[dict[str, np.ndarray], float]:
        positions, velocities = self.robot.get_joint_state()
        ee_position = self.robot.get_ee_position()
        values = {
            "observation": np.concatenate([positions, velocities, ee_position]),
            "achieved_goal": ee_position,
            "desired_goal": self.task.target,
        }
        boxes = self.observation_space.spaces
        observation = {
            key: np.clip(value.astype(np.float32), boxes[key].low, boxes[key].high)
            for key, value in values.items()
        }
        # From the observed float32 goals, so that info agrees with compute_reward bit for bit.
        distance = float(goal_distance(observation["achieved_goal"], observation["desired_goal"]))
        return observation, distance


def _position_space() -> spaces.Box:
    """A position, in meters, (x, y, z), world frame, float32."""
    return spaces.Box(-POSITION_BOUND, POSITION_BOUND, shape=(3,), dtype=np.float32)
