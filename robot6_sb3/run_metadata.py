"""What every checkpoint records about its run: the ``metadata`` entry (SPEC 5), one typed
record, built, validated and migrated here.

It holds what is needed to build the model again without pickle (the algorithm, its policy
and constructor arguments as plain data), the env it trains on, where the run's files are,
who the run is (its name and a random id, so a file can tell whether a folder is its own),
whether resuming it can be exact and why not, and its origin (the parent of a fork).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from robot6_sb3.errors import CheckpointError

FORMAT_VERSION = 2
"""1: SAC/TQC, one env, twelve keys only. 2: any supported algorithm, VecEnvs, SB3's own
state dicts under ``model``."""


@dataclass(frozen=True)
class RunSettings:
    """How the run writes its files; a resume reuses them unless told otherwise."""

    save_every: int = 50
    """Completed episodes between two ``ckpt_ep_N.pth`` files."""
    keep_last: int | None = None
    """Keep only this many newest ``ckpt_ep_N.pth`` (``None``: all)."""
    replay_log: bool = True
    """Log the replay buffer, which exact resume needs."""
    log_dir: str | None = None
    """The run's log folder (CSV, TensorBoard), relative to its checkpoint folder when it can
    be; ``None`` when the run writes no logs."""


@dataclass(frozen=True)
class RunMetadata:
    """The ``metadata`` entry of a checkpoint."""

    algo: str
    """``sac``, ``tqc``, ``td3``, ``ddpg`` or ``crossq``."""
    policy: Any
    """The policy alias (``MlpPolicy``) or class path."""
    model_kwargs: dict[str, Any]
    """The model's constructor arguments as plain data (see :mod:`robot6_sb3.model_config`)."""
    env_id: str | None
    """The Gymnasium id the env was made from (``None`` for an env made without ``gym.make``)."""
    env_kwargs: dict[str, Any]
    n_envs: int
    vec_env: str
    """``dummy`` or ``subproc``."""
    obs_dim: int
    act_dim: int
    observation_space: dict[str, Any]
    action_space: dict[str, Any]
    run_name: str
    run_id: str
    """Random hex id given when the run starts; a fork gets a new one."""
    settings: RunSettings = field(default_factory=RunSettings)
    seed: int | None = None
    device: str = "cpu"
    exact: bool = True
    """Whether resuming continues bitwise like the uninterrupted run (on CPU)."""
    inexact_reasons: list[str] = field(default_factory=list)
    parent: dict[str, Any] | None = None
    """For a fork: ``{"run", "run_id", "checkpoint", "episode"}`` of where it branched off."""
    labels: dict[str, Any] = field(default_factory=dict)
    """Plain values that survive resumes and forks (a sweep's study and trial)."""
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def net_arch(self) -> Any:
        """The network layout, as given in ``policy_kwargs`` (``None``: the algorithm's default)."""
        return (self.model_kwargs.get("policy_kwargs") or {}).get("net_arch")

    @classmethod
    def from_dict(cls, values: Any, source: str = "checkpoint") -> RunMetadata:
        """Validate a stored metadata dict (migrating format 1) and build the record.

        :raises CheckpointError: naming the first field that is missing or of the wrong type
        """
        if not isinstance(values, dict):
            raise CheckpointError(f"{source} has no 'metadata' dict (not made by robot6?)")
        version = values.get("format_version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise CheckpointError(f"{source}: metadata 'format_version' must be an int")
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{source} has format version {version}; this robot6-sb3 reads up to "
                f"{FORMAT_VERSION}: upgrade robot6-sb3"
            )
        if version < 2:
            values = migrate_v1(values, source)
        kwargs = {}
        for item in dataclasses.fields(cls):
            if item.name not in values:
                if (
                    item.default is dataclasses.MISSING
                    and item.default_factory is dataclasses.MISSING
                ):
                    raise CheckpointError(f"{source}: metadata lacks '{item.name}'")
                continue
            kwargs[item.name] = values[item.name]
        _check_types(kwargs, source)
        settings = kwargs.get("settings", {})
        kwargs["settings"] = RunSettings(
            **{k: v for k, v in settings.items() if k in RunSettings.__dataclass_fields__}
        )
        return cls(**kwargs)


_TYPES: dict[str, tuple[type, ...]] = {
    "algo": (str,),
    "model_kwargs": (dict,),
    "env_id": (str, type(None)),
    "env_kwargs": (dict,),
    "n_envs": (int,),
    "vec_env": (str,),
    "obs_dim": (int,),
    "act_dim": (int,),
    "observation_space": (dict,),
    "action_space": (dict,),
    "run_name": (str,),
    "run_id": (str,),
    "settings": (dict,),
    "seed": (int, type(None)),
    "device": (str,),
    "exact": (bool,),
    "inexact_reasons": (list,),
    "parent": (dict, type(None)),
    "labels": (dict,),
    "versions": (dict,),
    "created": (str,),
}


def _check_types(values: dict[str, Any], source: str) -> None:
    for name, value in values.items():
        kinds = _TYPES.get(name)
        if kinds is None:
            continue
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if not isinstance(value, kinds) or wrong_bool:
            shown = f"{type(value).__name__} {value!r}"[:80]
            expected = " or ".join("None" if k is type(None) else k.__name__ for k in kinds)
            raise CheckpointError(f"{source}: metadata '{name}' must be {expected}, got {shown}")
    if values.get("n_envs", 1) < 1:
        raise CheckpointError(f"{source}: metadata 'n_envs' must be at least 1")
    settings = values.get("settings", {})
    save_every = settings.get("save_every", 1)
    if not isinstance(save_every, int) or isinstance(save_every, bool) or save_every < 1:
        raise CheckpointError(f"{source}: metadata settings.save_every must be an int >= 1")


V1_REQUIRED = {
    "algo": str,
    "env_id": str,
    "env_kwargs": dict,
    "obs_dim": int,
    "act_dim": int,
    "hyperparameters": dict,
    "run_name": str,
}


def migrate_v1(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Format-1 metadata (SAC/TQC from ``robot6 train``, one env) in the current layout."""
    for name, kind in V1_REQUIRED.items():
        value = values.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CheckpointError(
                f"{source}: metadata '{name}' must be {kind.__name__}, got {type(value).__name__}"
            )
    hyper = dict(values["hyperparameters"])
    net_arch = hyper.pop("net_arch", values.get("net_arch"))
    model_kwargs = {**hyper, "policy_kwargs": {"net_arch": net_arch} if net_arch else {}}
    if "train_freq" in model_kwargs:
        model_kwargs["train_freq"] = [model_kwargs["train_freq"], "step"]
    settings = {
        "save_every": values.get("save_every", 50),
        "replay_log": values.get("replay_log", True),
    }
    parent = values.get("parent")
    return {
        **{k: v for k, v in values.items() if k not in ("hyperparameters", "net_arch")},
        "format_version": FORMAT_VERSION,
        "policy": "MlpPolicy",
        "model_kwargs": model_kwargs,
        "n_envs": 1,
        "vec_env": "dummy",
        "observation_space": values.get("observation_space") or {},
        "action_space": values.get("action_space") or {},
        # A format-1 run has no id; its name stands in for one.
        "run_id": str(values["run_name"]),
        "settings": settings,
        "parent": None
        if parent is None
        else {**parent, "run_id": parent.get("run_id", parent.get("run"))},
        "labels": values.get("labels") or {},
        "versions": values.get("versions") or {},
        "created": str(values.get("created", "")),
        "seed": values.get("seed") if isinstance(values.get("seed"), int) else None,
        "device": str(values.get("device", "cpu")),
    }


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
