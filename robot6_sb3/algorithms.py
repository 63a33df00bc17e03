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

from sb3_contrib import TQC, CrossQ
from stable_baselines3 import DDPG, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from robot6_sb3.engine import FAST, SB3, FastSAC, FastTQC
from robot6_sb3.errors import UnsupportedSetupError, UsageError

ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {
    "sac": SAC,
    "tqc": TQC,
    "td3": TD3,
    "ddpg": DDPG,
    "crossq": CrossQ,
}
"""Checkpoint name of each supported algorithm -> its class (matched exactly, not by subclass:
DDPG is a TD3 subclass with other defaults)."""

FAST_ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": FastSAC, "tqc": FastTQC}
"""The algorithms the fast engine computes -> their fast class."""

ENGINE_CLASSES = {SB3: ALGORITHMS, FAST: FAST_ALGORITHMS}

HAS_ENTROPY_COEFFICIENT = frozenset({"sac", "tqc", "crossq"})
"""Algorithms with an entropy coefficient (learned, or fixed by ``ent_coef=<float>``)."""


def algo_name(model: BaseAlgorithm) -> str:
    """The checkpoint name of ``model``'s algorithm.

    :raises UnsupportedSetupError: for an on-policy or otherwise unsupported algorithm
    """
    for classes in ENGINE_CLASSES.values():
        for name, cls in classes.items():
            if type(model) is cls:
                return name
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
    :raises UsageError: for an engine that does not compute this algorithm
    """
    if name not in ALGORITHMS:
        raise UnsupportedSetupError(
            f"the checkpoint's algo {name!r} is unknown to this robot6-sb3 "
            f"(it knows {', '.join(ALGORITHMS)})"
        )
    check_engine(name, engine)
    return ENGINE_CLASSES[engine][name]


def engine_name(model: BaseAlgorithm) -> str:
    """``"fast"`` for a model of the fast engine's classes, ``"sb3"`` for any other."""
    return FAST if type(model) in FAST_ALGORITHMS.values() else SB3


def default_engine(algo: str) -> str:
    """The engine a new run of ``algo`` trains with: the fast one where it exists."""
    return FAST if algo in FAST_ALGORITHMS else SB3


def check_engine(algo: str, engine: str) -> None:
    """:raises UsageError: for an unknown engine, or one that does not compute ``algo``"""
    if engine not in ENGINE_CLASSES:
        raise UsageError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINE_CLASSES)}")
    if algo not in ENGINE_CLASSES[engine]:
        raise UsageError(
            f"the {engine} engine computes {', '.join(ENGINE_CLASSES[engine])}, not {algo}; "
            f"use the {SB3} engine for {algo}"
        )


def supported_names() -> str:
    """The supported algorithms as users know them: ``SAC, TQC, TD3, DDPG, CrossQ``."""
    return ", ".join(cls.__name__ for cls in ALGORITHMS.values())


def engine_change(saved: str, engine: str) -> str:
    """What changes when a run made with the ``saved`` engine resumes with ``engine``."""
    return (
        f"the checkpoint was trained with the {saved} engine and continues with the {engine} "
        f"engine: the run goes on, but not bitwise as it would with the {saved} engine "
        "(the engines round differently)"
    )
