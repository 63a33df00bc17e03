"""The SB3 algorithms a checkpoint can hold, and what each one's parts are called.

Every supported algorithm is off-policy and keeps its state where SB3's own ``save`` finds it
(``_get_torch_save_params``): the policy module (actor, critics and any target networks), one
optimizer per learned part, and the entropy coefficient as a tensor where it has one. A
checkpoint stores exactly those, so any of them resumes bitwise; the twelve documented keys
(SPEC 5) are views of the same tensors, named after SAC's parts.

SAC and TQC also come with the fast engine (:mod:`robot6_sb3.engine`): ``FastSAC`` and
``FastTQC`` are the same algorithms with a leaner gradient update, and their checkpoints are
SAC's and TQC's, recorded with the engine that made them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from robot6_sb3.config_fields import ConfigError
from robot6_sb3.errors import UnsupportedSetupError

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

ALGORITHMS: dict[str, str] = {
    "sac": "stable_baselines3:SAC",
    "tqc": "sb3_contrib:TQC",
    "td3": "stable_baselines3:TD3",
    "ddpg": "stable_baselines3:DDPG",
    "crossq": "sb3_contrib:CrossQ",
}
"""Checkpoint name of each supported algorithm -> where its class is (imported when used, so
the names are known without loading PyTorch). A model matches its class exactly, not by
subclass: DDPG is a TD3 subclass with other defaults."""

FAST = "fast"
"""Name of the fast engine's update (:mod:`robot6_sb3.engine`)."""
SB3 = "sb3"
"""Name of Stable-Baselines3's own update (``robot6 train --engine sb3``)."""

ENGINE_CLASSES: dict[str, dict[str, str]] = {
    FAST: {"sac": "robot6_sb3.engine.sac:FastSAC", "tqc": "robot6_sb3.engine.tqc:FastTQC"},
    SB3: ALGORITHMS,
}
"""Each engine -> the algorithms it computes -> where their class is."""

HAS_ENTROPY_COEFFICIENT = frozenset({"sac", "tqc", "crossq"})
"""Algorithms with an entropy coefficient (learned, or fixed by ``ent_coef=<float>``)."""


def algo_name(model: BaseAlgorithm) -> str:
    """The checkpoint name of ``model``'s algorithm.

    :raises UnsupportedSetupError: for an on-policy or otherwise unsupported algorithm
    """
    for engine, classes in ENGINE_CLASSES.items():
        for name in classes:
            if type(model) is algo_class(name, engine):
                return name
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

    kind = type(model).__name__
    if not isinstance(model, OffPolicyAlgorithm):
        raise UnsupportedSetupError(
            f"{kind} is an on-policy algorithm: it throws its rollouts away after every update, "
            "so there is no replay buffer to resume; robot6 checkpoints support "
            f"{supported_names()}"
        )
    raise UnsupportedSetupError(
        f"{kind} is not supported: robot6 checkpoints support {supported_names()}"
    )


def algo_class(name: str, engine: str = SB3) -> type[OffPolicyAlgorithm]:
    """The class of the algorithm a checkpoint names, computed by ``engine``.

    :raises UnsupportedSetupError: for a name this version does not know
    :raises ConfigError: (field ``engine``) for an engine that does not compute it
    """
    if name not in ALGORITHMS:
        raise UnsupportedSetupError(
            f"the checkpoint's algo {name!r} is unknown to this robot6-sb3 "
            f"(it knows {', '.join(ALGORITHMS)})"
        )
    check_engine(name, engine)
    module, _, cls = ENGINE_CLASSES[engine][name].partition(":")
    return getattr(importlib.import_module(module), cls)


def engine_name(model: BaseAlgorithm) -> str:
    """``"fast"`` for a model of the fast engine's classes, ``"sb3"`` for any other."""
    fast = ENGINE_CLASSES[FAST]
    return FAST if any(type(model) is algo_class(name, FAST) for name in fast) else SB3


def default_engine(algo: str) -> str:
    """The engine a new run of ``algo`` trains with: the fast one where it exists."""
    return FAST if algo in ENGINE_CLASSES[FAST] else SB3


def check_engine(algo: str, engine: str) -> None:
    """:raises ConfigError: (field ``engine``) for an unknown engine, or one that does not
    compute ``algo``"""
    if engine not in ENGINE_CLASSES:
        raise ConfigError("engine", f"must be one of {', '.join(ENGINE_CLASSES)}, got {engine!r}")
    if algo not in ENGINE_CLASSES[engine]:
        raise ConfigError(
            "engine",
            f"{engine} computes {' and '.join(ENGINE_CLASSES[engine])}, not {algo}; "
            f"use {SB3} for {algo}",
        )


def supported_names() -> str:
    """The supported algorithms as users know them: ``SAC, TQC, TD3, DDPG, CrossQ``."""
    return ", ".join(path.partition(":")[2] for path in ALGORITHMS.values())


def engine_change(saved: str, engine: str) -> str:
    """What changes when a run made with the ``saved`` engine resumes with ``engine``."""
    return (
        f"changed from {saved} to {engine}: the run goes on, but not bitwise as it would "
        f"with {saved} (the engines round differently)"
    )
