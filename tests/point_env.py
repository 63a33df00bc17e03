"""A tiny NumPy env that is not robot6's, so the callbacks are tested as any SB3 user's env
would meet them: a point pushed across a plane towards a target, ten steps an episode.

Variants (registered below): with and without the env state protocol, ending early on
success (so the sub-envs of a VecEnv fall out of step), and goal-conditioned for HER.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

STEP = 0.2
"""How far an action of 1 moves the point."""
SUCCESS = 0.15
"""Distance under which the point has reached its target."""


class PointReach(gym.Env):
    """Observation ``(x, y, target x, target y)``; reward minus the distance to the target."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"]}

    def __init__(self, terminate_on_success: bool = False, render_mode: str | None = None) -> None:
        self.terminate_on_success = terminate_on_success
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-2.0, 2.0, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.position = np.zeros(2)
        self.target = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-1, 1, 2)
        self.target = self.np_random.uniform(-1, 1, 2)
        return self._observation(), self._info()

    def step(self, action: np.ndarray):
        noise = self.np_random.normal(0.0, 0.01, 2)
        self.position = np.clip(self.position + STEP * np.asarray(action) + noise, -2, 2)
        distance = self._distance()
        terminated = self.terminate_on_success and distance < SUCCESS
        return self._observation(), -distance, terminated, False, self._info()

    def render(self) -> np.ndarray:
        image = np.zeros((8, 8, 3), dtype=np.uint8)
        row, column = np.clip(((self.position + 2) * 2).astype(int), 0, 7)
        image[row, column] = 255
        return image

    def _distance(self) -> float:
        return float(np.linalg.norm(self.position - self.target))

    def _observation(self) -> Any:
        return np.concatenate([self.position, self.target]).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {"is_success": self._distance() < SUCCESS}


class StatefulPointReach(PointReach):
    """:class:`PointReach` with robot6's env state protocol."""

    def get_state(self) -> dict[str, Any]:
        return {
            "position": self.position.tolist(),
            "target": self.target.tolist(),
            "np_random": self.np_random.bit_generator.state,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.position = np.array(state["position"])
        self.target = np.array(state["target"])
        self.np_random.bit_generator.state = state["np_random"]


class ArrayStatePointReach(StatefulPointReach):
    """Breaks the protocol: its state holds a NumPy array, which would need pickle to load."""

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "position": self.position.copy()}


class PointGoal(StatefulPointReach):
    """Goal-conditioned: ``observation``, ``achieved_goal`` and ``desired_goal``; sparse reward."""

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        box = spaces.Box(-2.0, 2.0, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Dict(
            {"observation": box, "achieved_goal": box, "desired_goal": box}
        )

    def step(self, action: np.ndarray):
        observation, _, terminated, truncated, info = super().step(action)
        reward = self.compute_reward(
            observation["achieved_goal"], observation["desired_goal"], info
        )
        return observation, float(reward), terminated, truncated, info

    def compute_reward(self, achieved: np.ndarray, desired: np.ndarray, info: Any) -> np.ndarray:
        distance = np.linalg.norm(np.asarray(achieved) - np.asarray(desired), axis=-1)
        return -(distance >= SUCCESS).astype(np.float32)

    def _observation(self) -> Any:
        position = self.position.astype(np.float32)
        return {
            "observation": position,
            "achieved_goal": position.copy(),
            "desired_goal": self.target.astype(np.float32),
        }


ENVS = {
    "PointReach-v0": ("StatefulPointReach", {}),
    "PointReachEnd-v0": ("StatefulPointReach", {"terminate_on_success": True}),
    "PointReachNoState-v0": ("PointReach", {}),
    "PointGoal-v0": ("PointGoal", {}),
    "PointReachArrayState-v0": ("ArrayStatePointReach", {}),
}

for env_id, (cls, kwargs) in ENVS.items():
    if env_id not in gym.registry:
        gym.register(env_id, entry_point=f"{__name__}:{cls}", max_episode_steps=10, kwargs=kwargs)
