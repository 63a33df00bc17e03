"""``Robot6Reach-v0``: the xArm6 reaching a random target, with a flat observation."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from robot6_envs.reach_base_env import (
    MAX_EPISODE_STEPS,
    POSITION_BOUND,
    STATE_KEYS,
    ReachBaseEnv,
)

__all__ = ["ENV_ID", "MAX_EPISODE_STEPS", "STATE_KEYS", "Robot6ReachEnv"]

ENV_ID = "Robot6Reach-v0"
"""The Gymnasium id this environment is registered under."""


class Robot6ReachEnv(ReachBaseEnv[np.ndarray]):
    """Move the xArm6's end effector to a random target.

    Observation, float32, shape (21,), world frame, with finite bounds (values are clipped):

    ====== =================================================
    index  content
    ====== =================================================
    0-5    joint angles, in radians
    6-11   joint velocities, in rad/s
    12-14  end-effector position, in meters, (x, y, z)
    15-17  target position, in meters, (x, y, z)
    18-20  target minus end-effector position, in meters
    ====== =================================================

    Action: ``Box(-1, 1)``, float32; shape (3,) for ``control="ee"``, (6,) for ``"joints"``
    (see :class:`~robot6_envs.robot.XArm6`). Episodes are never terminated; ``TimeLimit``
    truncates them after :data:`MAX_EPISODE_STEPS`. ``info`` holds ``is_success`` (bool) and
    ``distance`` (float, in meters) after every reset and step.

    :param control: ``"ee"`` (end-effector displacement through IK) or ``"joints"``
        (joint-angle deltas).
    :param reward_type: ``"dense"`` (minus the distance) or ``"sparse"`` (-1.0 until success).
    :param render_mode: ``None``, ``"rgb_array"`` (TinyRenderer, headless) or ``"human"`` (GUI).
    """

    def __init__(
        self, control: str = "ee", reward_type: str = "dense", render_mode: str | None = None
    ) -> None:
        super().__init__(control=control, reward_type=reward_type, render_mode=render_mode)
        robot_low, robot_high = self._robot_state_bounds()
        low = np.concatenate(
            [robot_low, np.full(3, -POSITION_BOUND), np.full(3, -2 * POSITION_BOUND)]
        ).astype(np.float32)
        high = np.concatenate(
            [robot_high, np.full(3, POSITION_BOUND), np.full(3, 2 * POSITION_BOUND)]
        ).astype(np.float32)
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` for one control period (``TIMESTEP * N_SUBSTEPS`` seconds)."""
        self.robot.set_action(action)
        self.sim.step()
        observation, distance = self._observe()
        reward = float(self.task.compute_reward(distance))
        return observation, reward, False, False, self._info(distance)

    def _observe(self) -> tuple[np.ndarray, float]:
        positions, velocities = self.robot.get_joint_state()
        ee_position = self.robot.get_ee_position()
        target = self.task.target
        observation = np.concatenate(
            [positions, velocities, ee_position, target, target - ee_position]
        ).astype(np.float32)
        observation = np.clip(observation, self.observation_space.low, self.observation_space.high)
        return observation, self.task.distance(ee_position)
