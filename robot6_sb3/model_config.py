"""A model's constructor arguments as plain data, and the model built again from them.

SB3's own ``save`` pickles these arguments; a robot6 checkpoint must load without pickle
(``weights_only=True``), so they are stored as plain values instead: numbers, strings, lists
and dicts, classes by their import path (``{"class": "torch.nn.modules.activation.ReLU"}``),
``train_freq`` as ``[n, "step"]`` and action noise by its parameters. Only classes from
PyTorch, Stable-Baselines3 and sb3-contrib are imported back; anything else (a custom class,
a learning-rate schedule function) is recorded as needing an override, and
:func:`robot6_sb3.load_resumable` asks for it by name.
"""

from __future__ import annotations

import enum
import importlib
import inspect
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import NStepReplayBuffer
from stable_baselines3.common.noise import (
    ActionNoise,
    NormalActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.type_aliases import TrainFreq

from robot6_sb3.errors import CheckpointError, IncompatibleCheckpointError

NOT_STORED = frozenset({"self", "policy", "env", "device", "seed", "_init_setup_model"})
"""Constructor arguments recorded elsewhere (policy, seed, device) or given anew (env)."""

RENAMED = {"stats_window_size": "_stats_window_size"}
"""Constructor arguments SB3 keeps under another attribute name."""

TRUSTED_MODULES = ("torch.", "stable_baselines3.", "sb3_contrib.")
"""Classes from these packages are imported back by name; no other code is ever loaded."""

NEEDS_OVERRIDE = "needs_override"
"""Marks a value that plain data cannot hold (e.g. a schedule function)."""


def describe_model(model: OffPolicyAlgorithm) -> dict[str, Any]:
    """``{"policy": ..., "kwargs": {...}}``: what :func:`build_model` needs besides an env.

    :param model: an SB3 off-policy model
    """
    kwargs = {}
    for name in inspect.signature(type(model).__init__).parameters:
        if name in NOT_STORED:
            continue
        attribute = RENAMED.get(name, name)
        if hasattr(model, attribute):
            kwargs[name] = to_plain(getattr(model, attribute))
    if isinstance(model.replay_buffer_class, type) and issubclass(
        model.replay_buffer_class, NStepReplayBuffer
    ):
        # SB3 picks NStepReplayBuffer itself from n_steps; passing it back explicitly warns.
        kwargs["replay_buffer_class"] = None
        kwargs["replay_buffer_kwargs"] = {
            key: value
            for key, value in kwargs["replay_buffer_kwargs"].items()
            if key not in ("n_steps", "gamma")
        }
    return {"policy": _policy_name(model), "kwargs": kwargs}


def _policy_name(model: BaseAlgorithm) -> Any:
    for alias, cls in model.policy_aliases.items():
        if cls is model.policy_class:
            return alias
    return to_plain(model.policy_class)


def to_plain(value: Any) -> Any:
    """``value`` as data that ``torch.load(weights_only=True)`` reads back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, TrainFreq):
        return [int(value.frequency), value.unit.value]
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.tolist()
    if isinstance(value, torch.device):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, type):
        return {"class": f"{value.__module__}.{value.__qualname__}"}
    if isinstance(value, ActionNoise):
        return _noise_to_plain(value)
    return {NEEDS_OVERRIDE: f"{type(value).__name__} {_short_repr(value)}"}


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _noise_to_plain(noise: ActionNoise) -> dict[str, Any]:
    if isinstance(noise, VectorizedActionNoise):
        return _noise_to_plain(noise.base_noise)
    if isinstance(noise, OrnsteinUhlenbeckActionNoise):
        return {
            "noise": "ornstein_uhlenbeck",
            "mean": noise._mu.tolist(),
            "sigma": noise._sigma.tolist(),
            "theta": float(noise._theta),
            "dt": float(noise._dt),
            "initial_noise": None if noise.initial_noise is None else noise.initial_noise.tolist(),
        }
    if isinstance(noise, NormalActionNoise):
        return {"noise": "normal", "mean": noise._mu.tolist(), "sigma": noise._sigma.tolist()}
    return {NEEDS_OVERRIDE: f"action noise {type(noise).__name__}"}


def unrestorable(description: dict[str, Any]) -> list[str]:
    """Names of the constructor arguments :func:`build_model` cannot rebuild by itself."""
    found = []

    def visit(value: Any, where: str) -> None:
        if isinstance(value, dict):
            if NEEDS_OVERRIDE in value or ("class" in value and not _trusted(value["class"])):
                found.append(where)
                return
            for key, item in value.items():
                visit(item, f"{where}.{key}" if where else key)
        elif isinstance(value, list):
            for item in value:
                visit(item, where)

    visit({"policy": description["policy"], **description["kwargs"]}, "")
    return found


def _trusted(path: Any) -> bool:
    return isinstance(path, str) and path.startswith(TRUSTED_MODULES)


def from_plain(value: Any, where: str = "") -> Any:
    """Inverse of :func:`to_plain` for everything but ``train_freq`` and action noise.

    :raises CheckpointError: for a class outside :data:`TRUSTED_MODULES`
    """
    if isinstance(value, list):
        return [from_plain(item, where) for item in value]
    if not isinstance(value, dict):
        return value
    if "class" in value and len(value) == 1:
        return _import_class(value["class"], where)
    return {
        key: from_plain(item, f"{where}.{key}" if where else key) for key, item in value.items()
    }


def _import_class(path: Any, where: str) -> type:
    if not _trusted(path):
        raise CheckpointError(
            f"{where} names the class {path!r}, which robot6 does not import from a checkpoint "
            f"(only classes of {', '.join(m.rstrip('.') for m in TRUSTED_MODULES)}); pass "
            f"{where.split('.')[0]}=... to load_resumable"
        )
    target = _resolve(path)
    if not isinstance(target, type):
        raise CheckpointError(f"{where}: {path!r} is not a class")
    return target


def _resolve(path: str) -> Any:
    """The object at ``module.path.Class`` (classes may be nested: the longest importable
    module prefix wins)."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for part in parts[split:]:
                target = getattr(target, part)
        except AttributeError:
            break
        return target
    raise CheckpointError(f"the class {path!r} does not exist in this installation")


def _noise_from_plain(value: dict[str, Any]) -> ActionNoise:
    mean, sigma = np.array(value["mean"]), np.array(value["sigma"])
    if value["noise"] == "normal":
        return NormalActionNoise(mean=mean, sigma=sigma)
    if value["noise"] == "ornstein_uhlenbeck":
        initial = value.get("initial_noise")
        return OrnsteinUhlenbeckActionNoise(
            mean=mean,
            sigma=sigma,
            theta=value["theta"],
            dt=value["dt"],
            initial_noise=None if initial is None else np.array(initial),
        )
    raise CheckpointError(f"unknown action noise {value['noise']!r}")


def _from_plain_argument(name: str, value: Any) -> Any:
    if name == "action_noise" and value is not None:
        return _noise_from_plain(value)
    if name == "train_freq" and isinstance(value, list):
        return tuple(value)  # SB3 reads a list as a bare frequency
    return from_plain(value, name)


def build_model(
    algo: type[OffPolicyAlgorithm],
    description: dict[str, Any],
    env: Any,
    device: str,
    overrides: dict[str, Any],
) -> OffPolicyAlgorithm:
    """A new model of class ``algo`` built as ``description`` says, on ``env``.

    :param algo: the algorithm class
    :param description: from :func:`describe_model`
    :param env: the env to train on (a VecEnv, or anything SB3 accepts)
    :param device: PyTorch device
    :param overrides: constructor arguments that replace the stored ones
    :raises IncompatibleCheckpointError: when a stored value cannot be rebuilt and no
        override replaces it, or SB3 refuses the arguments
    """
    missing = [name for name in unrestorable(description) if name.split(".")[0] not in overrides]
    if missing:
        raise IncompatibleCheckpointError(
            "the checkpoint cannot rebuild "
            + ", ".join(missing)
            + " by itself (it was a function or a class from outside PyTorch and SB3); pass "
            + " and ".join(f"{name.split('.')[0]}=..." for name in missing)
            + " to load_resumable"
        )
    stored = {
        name: _from_plain_argument(name, value)
        for name, value in description["kwargs"].items()
        if name not in overrides
    }
    overrides = dict(overrides)
    policy = overrides.pop("policy", None) or from_plain(description["policy"], "policy")
    try:
        return algo(policy, env, device=device, **stored, **overrides)
    except (TypeError, ValueError, AssertionError) as exc:
        raise IncompatibleCheckpointError(
            f"{algo.__name__} could not be built with the checkpoint's settings: {exc}"
        ) from None
