"""The reach task: bring the end effector within :data:`SUCCESS_DISTANCE` of a random target."""

from __future__ import annotations

import numpy as np

from robot6_envs.simulation import Simulation

SUCCESS_DISTANCE = 0.05
"""An end effector closer than this to the target is a success, in meters."""

TARGET_LOW = (0.2, -0.2, 0.1)
"""Lower corner of the box targets are sampled from, in meters, (x, y, z), world frame."""

TARGET_HIGH = (0.5, 0.2, 0.4)
"""Upper corner of the box targets are sampled from, in meters, (x, y, z), world frame.
Every point of the box is reachable with the tool pointing down."""

REWARD_TYPES = ("dense", "sparse")
"""Allowed values of ``reward_type``."""


def goal_distance(achieved_goal: np.ndarray, desired_goal: np.ndarray) -> np.float64 | np.ndarray:
    """Distances between achieved and desired positions, in meters, computed in float64.

    :param achieved_goal: positions, in meters, (x, y, z) along the last axis: shape (3,) or
        (N, 3).
    :param desired_goal: positions of the same shape.
    :return: a numpy scalar for shape (3,), shape (N,) for (N, 3).
    """
    achieved = np.asarray(achieved_goal, dtype=np.float64)
    desired = np.asarray(desired_goal, dtype=np.float64)
    return np.linalg.norm(desired - achieved, axis=-1)


class ReachTask:
    """A target position sampled uniformly in the workspace, drawn as a sphere that never collides.

    :param sim: the simulation to draw the target marker in.
    :param reward_type: ``"dense"``: the reward is minus the distance, in meters;
        ``"sparse"``: -1.0 until the end effector is within :data:`SUCCESS_DISTANCE`, then 0.0.
    """

    def __init__(self, sim: Simulation, reward_type: str = "dense") -> None:
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}")
        self.sim = sim
        self.reward_type = reward_type
        self.target = np.array(TARGET_LOW) + 0.5 * (np.array(TARGET_HIGH) - np.array(TARGET_LOW))
        """Target position in the world frame, in meters, (x, y, z)."""
        self.marker = sim.create_visual_sphere(
            radius=SUCCESS_DISTANCE / 2, rgba_color=(0.1, 0.8, 0.1, 0.6), position=(0.0, 0.0, 0.0)
        )
        self.set_target(self.target)

    def reset(self, np_random: np.random.Generator) -> None:
        """Sample a new target.

        :param np_random: the environment's random generator, the only source of randomness.
        """
        self.set_target(np_random.uniform(TARGET_LOW, TARGET_HIGH))

    def set_target(self, target: np.ndarray) -> None:
        """Place the target (and its marker).

        :param target: in meters, (x, y, z), world frame.
        """
        self.target = np.array(target, dtype=np.float64)
        self.sim.set_base_position(self.marker, tuple(self.target.tolist()))

    def distance(self, ee_position: np.ndarray) -> float:
        """Distance from the end effector to the target, in meters.

        :param ee_position: end-effector position, in meters, (x, y, z), world frame.
        """
        return float(np.linalg.norm(self.target - ee_position))

    def is_success(self, distance: float) -> bool:
        """Whether ``distance`` (in meters) is within :data:`SUCCESS_DISTANCE`."""
        return distance < SUCCESS_DISTANCE

    def compute_reward(self, distance: float | np.ndarray) -> np.float64 | np.ndarray:
        """The reward for an end effector ``distance`` meters from the target.

        :param distance: in meters; a float, or an array of distances of any shape.
        :return: float64, of the shape of ``distance`` (a numpy scalar for a float).
        """
        if self.reward_type == "sparse":
            return -np.greater_equal(distance, SUCCESS_DISTANCE).astype(np.float64)
        return np.negative(distance, dtype=np.float64)
