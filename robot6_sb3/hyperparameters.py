"""The training hyperparameters of ``robot6 train``: one dataclass, turned into SB3's
constructor arguments for the chosen algorithm (which are what a checkpoint stores).

The defaults are the recommended settings for ``Robot6Reach-v0`` (measured in
``benchmarks/``); the ``robot6 train`` options map onto these fields one to one.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Hyperparameters:
    """SAC/TQC settings for one run."""

    learning_rate: float = 1e-3
    """Adam learning rate of the actor, the critics and the entropy coefficient."""

    buffer_size: int = 1_000_000
    """Replay buffer capacity, in transitions."""

    learning_starts: int = 1000
    """Env steps of uniformly random actions before the first gradient step (counted from step 0)."""

    batch_size: int = 256
    """Transitions per gradient step."""

    tau: float = 0.05
    """Polyak coefficient of the target critics (1.0 copies the critics)."""

    gamma: float = 0.95
    """Discount factor."""

    train_freq: int = 1
    """Env steps between two rounds of gradient steps."""

    gradient_steps: int = 1
    """Gradient steps per round."""

    net_arch: tuple[int, ...] = field(default=(128, 128))
    """Hidden layer sizes, shared by the actor and each critic."""

    ent_coef: str = "auto"
    """Entropy coefficient of SAC, TQC and CrossQ: auto (learned), auto_<start> (learned from
    that value) or a fixed number."""

    action_noise: float = 0.1
    """Standard deviation of the Gaussian exploration noise of TD3 and DDPG (0: none)."""

    her_goals: int = 4
    """Relabelled goals per transition for HER on goal-conditioned envs (0: no HER)."""

    @classmethod
    def help_text(cls, name: str) -> str:
        """The docstring of field ``name`` and its default, for ``robot6 train --help``."""
        default = getattr(cls(), name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        return f"{_field_docs()[name]} New runs: {shown}; resumed runs keep the checkpoint's."

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) as stored in checkpoint metadata."""
        values = dataclasses.asdict(self)
        values["net_arch"] = list(self.net_arch)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hyperparameters:
        """Rebuild from :meth:`to_dict` output, ignoring fields this version does not know.

        :raises ValueError: when a value has the wrong type (a damaged or foreign checkpoint)
        """
        kwargs = {}
        defaults = cls()
        for field_ in dataclasses.fields(cls):
            if field_.name not in values:
                continue
            value = values[field_.name]
            default = getattr(defaults, field_.name)
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value
                ):
                    raise ValueError(
                        f"{field_.name} must be a list of positive ints, got {value!r}"
                    )
                value = tuple(value)
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise ValueError(f"{field_.name} must be a string, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{field_.name} must be a number, got {value!r}")
            elif isinstance(default, int) and not isinstance(value, int):
                raise ValueError(f"{field_.name} must be an int, got {value!r}")
            kwargs[field_.name] = value
        return cls(**kwargs)

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
        from gymnasium import spaces

        from robot6_sb3.algorithms import ALGORITHMS, HAS_ENTROPY_COEFFICIENT

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
        accepted = inspect.signature(ALGORITHMS[algo].__init__).parameters
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
        """A copy with ``changes`` applied; ``None`` values leave a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


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

    :raises ValueError: for anything else, or a number that is not positive and finite
    """
    text = str(text).strip()
    number = text.removeprefix("auto_") if text.startswith("auto_") else text
    if text == "auto":
        return text
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"ent_coef takes auto, auto_<start> or a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"ent_coef must be positive, got {text!r}")
    return text if text.startswith("auto_") else value


@functools.cache
def _field_docs() -> dict[str, str]:
    """Each field's docstring (the string right below it in the class body)."""
    body = ast.parse(inspect.getsource(Hyperparameters)).body[0].body
    docs = {}
    for field_node, doc_node in itertools.pairwise(body):
        if (
            isinstance(field_node, ast.AnnAssign)
            and isinstance(field_node.target, ast.Name)
            and isinstance(doc_node, ast.Expr)
            and isinstance(doc_node.value, ast.Constant)
        ):
            docs[field_node.target.id] = " ".join(str(doc_node.value.value).split())
    return docs
