"""Evaluating a policy: success rate, mean reward and final distance over whole episodes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate_policy` measured."""

    episodes: int
    success_rate: float
    """Fraction of episodes whose last step had ``info["is_success"]``."""
    mean_reward: float
    """Mean undiscounted episode return."""
    mean_final_distance: float
    """Mean distance to the target at the last step, in meters (NaN if the env has none)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_policy(
    model: BaseAlgorithm,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    episodes: int = 50,
    deterministic: bool = True,
    seed: int = 0,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> EvaluationResult:
    """Run ``episodes`` whole episodes of ``model`` in a fresh env of its own.

    The env is seeded once with ``seed``, so the same checkpoint and seed give the same
    targets and, with ``deterministic=True``, the same numbers. Evaluation never touches the
    training env or the process-wide random generators a deterministic policy does not use.

    :param model: the trained SB3 model
    :param env_id: the env to evaluate in
    :param env_kwargs: keyword arguments for ``gym.make``
    :param episodes: number of episodes
    :param deterministic: use the policy's mean action instead of sampling
    :param seed: seed of the evaluation env's first reset
    :param on_frame: receives an RGB frame after every reset and step (renders in
        ``rgb_array`` mode when given)
    """
    kwargs = dict(env_kwargs or {})
    if on_frame is not None:
        kwargs["render_mode"] = "rgb_array"
    env = gym.make(env_id, **kwargs)
    rewards, successes, distances = [], [], []
    try:
        for episode in range(episodes):
            obs, info = env.reset(seed=seed if episode == 0 else None)
            if on_frame is not None:
                on_frame(env.render())
            total, done = 0.0, False
            while not done:
                action, _ = model.predict(obs, deterministic=deterministic)
                obs, reward, terminated, truncated, info = env.step(action)
                total += float(reward)
                done = terminated or truncated
                if on_frame is not None:
                    on_frame(env.render())
            rewards.append(total)
            successes.append(bool(info.get("is_success", False)))
            distances.append(float(info.get("distance", np.nan)))
    finally:
        env.close()
    return EvaluationResult(
        episodes=episodes,
        success_rate=float(np.mean(successes)),
        mean_reward=float(np.mean(rewards)),
        mean_final_distance=float(np.mean(distances)),
    )
