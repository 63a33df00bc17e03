"""The SB3 algorithms a checkpoint can hold, and what each one's parts are called.

Every supported algorithm is off-policy and keeps its state where SB3's own ``save`` finds it
(``_get_torch_save_params``): the policy module (actor, critics and any target networks), one
optimizer per learned part, and the entropy coefficient as a tensor where it has one. A
checkpoint stores exactly those, so any of them resumes bitwise; the twelve documented keys
(SPEC 5) are views of the same tensors, named after SAC's parts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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

HAS_ENTROPY_COEFFICIENT = frozenset({"sac", "tqc", "crossq"})
"""Algorithms with an entropy coefficient (learned, or fixed by ``ent_coef=<float>``)."""


def algo_name(model: BaseAlgorithm) -> str:
    """The checkpoint name of ``model``'s algorithm.

    :raises UnsupportedSetupError: for an on-policy or otherwise unsupported algorithm
    """
    for name in ALGORITHMS:
        if type(model) is algo_class(name):
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


def algo_class(name: str) -> type[OffPolicyAlgorithm]:
    """The class of the algorithm a checkpoint names.

    :raises UnsupportedSetupError: for a name this version does not know
    """
    if name not in ALGORITHMS:
        raise UnsupportedSetupError(
            f"the checkpoint's algo {name!r} is unknown to this robot6-sb3 "
            f"(it knows {', '.join(ALGORITHMS)})"
        )
    module, _, cls = ALGORITHMS[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def supported_names() -> str:
    """The supported algorithms as users know them: ``SAC, TQC, TD3, DDPG, CrossQ``."""
    return ", ".join(path.partition(":")[2] for path in ALGORITHMS.values())
