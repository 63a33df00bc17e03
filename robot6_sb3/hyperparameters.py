"""The training hyperparameters of ``robot6 train``: one dataclass, turned into SB3's
constructor arguments for the chosen algorithm (which are what a checkpoint stores).

The defaults are the recommended settings for ``Robot6Reach-v0`` (measured in
``benchmarks/``); the ``robot6 train`` options map onto these fields one to one.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Any

from robot6_sb3.config_fields import ConfigError, check_fields, setting


@dataclass(frozen=True)
class Hyperparameters:
    """SAC/TQC/TD3/DDPG/CrossQ settings for one run; checked when made (:class:`ConfigError`
    names the field)."""

    learning_rate: float = setting(1e-3, positive=True)
    """Adam learning rate of the actor, the critics and the entropy coefficient (a change on
    resume applies to the restored optimizers)."""

    buffer_size: int = setting(1_000_000, at_least=1)
    """Replay buffer capacity, in transitions."""

    learning_starts: int = setting(1000, at_least=0)
    """Env steps of uniformly random actions before the first gradient step (counted from step 0)."""

    batch_size: int = setting(256, at_least=1)
    """Transitions per gradient step."""

    tau: float = setting(0.05, positive=True, at_most=1)
    """Polyak coefficient of the target critics (1.0 copies the critics)."""

    gamma: float = setting(0.95, positive=True, at_most=1)
    """Discount factor."""

    train_freq: int = setting(1, at_least=1)
    """Env steps between two rounds of gradient steps."""

    gradient_steps: int = setting(1, at_least=1)
    """Gradient steps per round."""

    net_arch: tuple[int, ...] = setting((128, 128))
    """Hidden layer sizes, shared by the actor and each critic."""

    ent_coef: str = setting("auto_0.1")
    """Entropy coefficient of SAC, TQC and CrossQ: auto (learned from 1), auto_<start> (learned
    from that value) or a fixed number."""

    action_noise: float = setting(0.1, at_least=0)
    """Standard deviation of the Gaussian exploration noise of TD3 and DDPG (0: none)."""

    her_goals: int = setting(4, at_least=0)
    """Relabelled goals per transition for HER on goal-conditioned envs (0: no HER)."""

    def __post_init__(self) -> None:
        if isinstance(self.net_arch, list):  # as JSON, YAML and stored metadata give it
            object.__setattr__(self, "net_arch", tuple(self.net_arch))
        check_fields(self)
        if not self.net_arch or any(size < 1 for size in self.net_arch):
            raise ConfigError("net_arch", f"needs positive layer sizes, got {self.net_arch}")
        if not math.isfinite(self.action_noise):
            raise ConfigError("action_noise", f"must be finite, got {self.action_noise}")
        entropy_coefficient(self.ent_coef)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) as stored in checkpoint metadata."""
        values = dataclasses.asdict(self)
        values["net_arch"] = list(self.net_arch)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hyperparameters:
        """Rebuild from :meth:`to_dict` output (lists for tuples), ignoring fields this version
        does not know.

        :raises ConfigError: naming the first field with a wrong value
        """
        return cls(**{name: values[name] for name in FIELD_NAMES if name in values})

    def sb3_kwargs(
        self, algo: str, env: Any = None, only: set[str] | frozenset[str] | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for the algorithm ``algo`` (``"sac"``, ``"td3"``, ...): the fields
        it takes, as SB3 names them.

        :param algo: the algorithm's name in :data:`robot6_sb3.algorithms.ALGORITHMS`
        :param env: the env, or anything with its spaces; TD3's and DDPG's action noise is
            sized by its action space, and goal-conditioned observations get HER
        :param only: the fields to convert (default: all)
        """
        import numpy as np
        from gymnasium import spaces

        from robot6_sb3.algorithms import HAS_ENTROPY_COEFFICIENT, algo_class

        names = set(FIELD_NAMES if only is None else only)
        kwargs: dict[str, Any] = {
            name: getattr(self, name) for name in SB3_NAMED_FIELDS if name in names
        }
        if "net_arch" in names:
            kwargs["policy_kwargs"] = {"net_arch": list(self.net_arch)}
        if "ent_coef" in names and algo in HAS_ENTROPY_COEFFICIENT:
            kwargs["ent_coef"] = entropy_coefficient(self.ent_coef)
        if "action_noise" in names and algo in ACTION_NOISE_ALGORITHMS and self.action_noise > 0:
            from stable_baselines3.common.noise import NormalActionNoise

            if env is None:
                raise ValueError(f"{algo}'s action noise is sized by the env: pass env")
            act_dim = spaces.flatdim(env.action_space)
            kwargs["action_noise"] = NormalActionNoise(
                mean=np.zeros(act_dim), sigma=self.action_noise * np.ones(act_dim)
            )
        goal = env is not None and is_goal_conditioned(env.observation_space)
        if "her_goals" in names and goal and self.her_goals > 0:
            from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

            kwargs["replay_buffer_class"] = HerReplayBuffer
            kwargs["replay_buffer_kwargs"] = {
                "n_sampled_goal": self.her_goals,
                "goal_selection_strategy": "future",
            }
        accepted = inspect.signature(algo_class(algo).__init__).parameters
        return {name: value for name, value in kwargs.items() if name in accepted}

    @classmethod
    def from_model_kwargs(cls, kwargs: dict[str, Any]) -> Hyperparameters:
        """The fields a checkpoint's stored constructor arguments give (others at default)."""
        values: dict[str, Any] = {}
        for name in SB3_NAMED_FIELDS:
            if isinstance(kwargs.get(name), (int, float)) and not isinstance(kwargs[name], bool):
                values[name] = kwargs[name]
        train_freq = kwargs.get("train_freq")
        if isinstance(train_freq, list) and train_freq[1:] == ["step"]:
            values["train_freq"] = train_freq[0]
        arch = (kwargs.get("policy_kwargs") or {}).get("net_arch")
        if isinstance(arch, list) and all(isinstance(n, int) for n in arch):
            values["net_arch"] = tuple(arch)
        if isinstance(kwargs.get("ent_coef"), (str, float, int)):
            values["ent_coef"] = str(kwargs["ent_coef"])
        noise = kwargs.get("action_noise")
        if isinstance(noise, dict) and noise.get("noise") == "normal" and noise.get("sigma"):
            values["action_noise"] = float(noise["sigma"][0])
        return cls().replace(**values)

    def replace(self, **changes: Any) -> Hyperparameters:
        """A copy with ``changes`` applied, checked."""
        return dataclasses.replace(self, **changes)


SB3_NAMED_FIELDS = (
    "learning_rate",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "tau",
    "gamma",
    "train_freq",
    "gradient_steps",
)
"""Fields that are SB3 constructor arguments of the same name and meaning."""

ACTION_NOISE_ALGORITHMS = frozenset({"td3", "ddpg"})
"""Deterministic policies, which explore through the ``action_noise`` field."""


def is_goal_conditioned(space: Any) -> bool:
    """Whether observations are Gymnasium-Robotics style goal dicts (what HER needs)."""
    keys = getattr(space, "spaces", None)
    return isinstance(keys, dict) and {"achieved_goal", "desired_goal"} <= set(keys)


FIELD_NAMES = frozenset(field.name for field in dataclasses.fields(Hyperparameters))


def entropy_coefficient(text: str) -> str | float:
    """``ent_coef`` as SB3 takes it: ``"auto"``, ``"auto_0.1"`` or a float.

    :raises ConfigError: for anything else, or a number that is not positive and finite
    """
    text = str(text).strip()
    number = text.removeprefix("auto_") if text.startswith("auto_") else text
    if text == "auto":
        return text
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(
            "ent_coef", f"takes auto, auto_<start> or a number, got {text!r}"
        ) from None
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError("ent_coef", f"must be positive, got {text!r}")
    return text if text.startswith("auto_") else value
