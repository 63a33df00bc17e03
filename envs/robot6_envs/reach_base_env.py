"""What both reach envs share: the wiring of simulation, arm and task, reset, rendering and the
env state protocol. The envs differ only in their observation and reward
(:mod:`robot6_envs.reach_env`: flat, :mod:`robot6_envs.reach_goal_env`: goal-conditioned)."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np

from robot6_envs.robot import CONTROL_MODES, XArm6
from robot6_envs.simulation import Simulation
from robot6_envs.task import REWARD_TYPES, ReachTask

MAX_EPISODE_STEPS = 50
"""Every episode is truncated by ``TimeLimit`` after this many steps (never terminated)."""

TIMESTEP = 0.01
"""Physics timestep, in seconds."""

N_SUBSTEPS = 4
"""Physics timesteps per env step: the arm is controlled at 1 / (0.01 * 4) = 25 Hz."""

RENDER_MODES = ("human", "rgb_array")
"""Allowed values of ``render_mode`` besides ``None``."""

POSITION_BOUND = 1.2
"""Bound of every position coordinate in the observation, in meters (the arm reaches < 1.1 m)."""

VELOCITY_BOUND = 10.0
"""Bound of every joint velocity in the observation, in rad/s (the motors limit them to 3.14)."""

STATE_KEYS = (
    "control",
    "reward_type",
    "joint_positions",
    "joint_velocities",
    "target",
    "np_random",
)
"""The keys of :meth:`ReachBaseEnv.get_state`."""

ObsType = TypeVar("ObsType")


class ReachBaseEnv(gym.Env[ObsType, np.ndarray]):
    """The xArm6 (:class:`~robot6_envs.robot.XArm6`) and a :class:`~robot6_envs.task.ReachTask`
    in their own :class:`~robot6_envs.simulation.Simulation`.

    A subclass sets ``observation_space`` and implements :meth:`_observe` and ``step``.

    :param control: ``"ee"`` (end-effector displacement through IK) or ``"joints"``
        (joint-angle deltas).
    :param reward_type: ``"dense"`` (minus the distance) or ``"sparse"`` (-1.0 until success).
    :param render_mode: ``None``, ``"rgb_array"`` (TinyRenderer, headless) or ``"human"`` (GUI).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": round(1 / (TIMESTEP * N_SUBSTEPS)),
    }

    def __init__(self, control: str, reward_type: str, render_mode: str | None) -> None:
        if control not in CONTROL_MODES:
            raise ValueError(f"control must be one of {CONTROL_MODES}, got {control!r}")
        if reward_type not in REWARD_TYPES:
            raise ValueError(f"reward_type must be one of {REWARD_TYPES}, got {reward_type!r}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}"
            )
        self.control = control
        self.reward_type = reward_type
        self.render_mode = render_mode
        self.sim = Simulation(render_mode=render_mode, timestep=TIMESTEP, n_substeps=N_SUBSTEPS)
        self.sim.create_visual_box(
            half_extents=(0.8, 0.8, 0.005),
            rgba_color=(0.85, 0.85, 0.85, 1.0),
            position=(0, 0, -0.005),
        )
        self.robot = XArm6(self.sim, control=control)
        self.task = ReachTask(self.sim, reward_type=reward_type)
        self.action_space = self.robot.action_space
        self.robot.reset()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Put the arm home and sample a new target from ``self.np_random``."""
        super().reset(seed=seed)
        self.robot.reset()
        self.task.reset(self.np_random)
        observation, distance = self._observe()
        return observation, self._info(distance)

    def render(self) -> np.ndarray | None:
        """An RGB image (H, W, 3) uint8 for ``"rgb_array"``; ``None`` otherwise (the GUI draws
        itself in ``"human"`` mode)."""
        if self.render_mode == "rgb_array":
            return self.sim.render()
        return None

    def close(self) -> None:
        """Release the physics client; closing twice is fine."""
        self.sim.close()

    def get_state(self) -> dict[str, Any]:
        """Everything that determines the future of this env, as plain Python values.

        :return: a dict with the keys :data:`STATE_KEYS`: ``control`` and ``reward_type``
            (str), ``joint_positions`` (6 floats, radians), ``joint_velocities`` (6 floats,
            rad/s), ``target`` (3 floats, meters, world frame) and ``np_random`` (the bit
            generator state of ``self.np_random``, ints and strings only).
        """
        positions, velocities = self.robot.get_joint_state()
        return {
            "control": self.control,
            "reward_type": self.reward_type,
            "joint_positions": positions.tolist(),
            "joint_velocities": velocities.tolist(),
            "target": self.task.target.tolist(),
            "np_random": _plain(self.np_random.bit_generator.state),
        }

    def set_state(self, state: dict[str, Any]) -> ObsType:
        """Restore a :meth:`get_state` result; the env then continues bitwise identically.

        :param state: a dict returned by :meth:`get_state` of an env with the same ``control``
            and ``reward_type``.
        :return: the observation in the restored state.
        """
        missing = [key for key in STATE_KEYS if key not in state]
        if missing:
            raise ValueError(f"env state is missing the keys {missing}; expected {STATE_KEYS}")
        for key in ("control", "reward_type"):
            if state[key] != getattr(self, key):
                raise ValueError(
                    f"env state was saved with {key}={state[key]!r}, this env has "
                    f"{key}={getattr(self, key)!r}; make the env with {key}={state[key]!r}"
                )
        self.np_random.bit_generator.state = state["np_random"]
        self.robot.set_joint_state(state["joint_positions"], state["joint_velocities"])
        self.task.set_target(np.array(state["target"]))
        observation, _ = self._observe()
        return observation

    def _observe(self) -> tuple[ObsType, float]:
        """The observation and the end effector's distance to the target, in meters."""
        raise NotImplementedError

    def _info(self, distance: float) -> dict[str, Any]:
        return {"is_success": self.task.is_success(distance), "distance": distance}

    def _robot_state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of the arm's own state, float64, shape (15,) each: joint angles (radians, the
        URDF limits), joint velocities (rad/s), end-effector position (meters, (x, y, z))."""
        low = np.concatenate(
            [
                self.robot.joint_lower_limits,
                np.full(6, -VELOCITY_BOUND),
                np.full(3, -POSITION_BOUND),
            ]
        )
        high = np.concatenate(
            [
                self.robot.joint_upper_limits,
                np.full(6, VELOCITY_BOUND),
                np.full(3, POSITION_BOUND),
            ]
        )
        return low, high


def _plain(value: Any) -> Any:
    """``value`` with numpy scalars and tuples turned into plain Python values and lists."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
