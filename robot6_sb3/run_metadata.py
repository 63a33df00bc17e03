"""What every checkpoint records about its run: the ``metadata`` entry (SPEC 5), one typed
record, built, validated and migrated here.

It holds what is needed to build the model again without pickle (the algorithm, its policy
and constructor arguments as plain data), the env it trains on, where the run's files are,
who the run is (its name and a random id, so a file can tell whether a folder is its own),
whether resuming it can be exact and why not, and its origin (the parent of a fork).
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gymnasium import spaces
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from robot6_sb3 import __version__
from robot6_sb3.algorithms import SB3, algo_name, engine_name
from robot6_sb3.config_fields import ConfigError, check_value, field_kind, field_names
from robot6_sb3.env_state import env_description, inexact_reasons
from robot6_sb3.errors import CheckpointError
from robot6_sb3.model_config import describe_model
from robot6_sb3.run_settings import RunSettings

SB3_BUFFER_SIZE = 1_000_000
"""``buffer_size`` of SB3's off-policy algorithms when not given."""

FORMAT_VERSION = 2
"""1: SAC/TQC, one env, twelve keys only. 2: any supported algorithm, VecEnvs, SB3's own
state dicts under ``model``."""


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
    engine: str = SB3
    """Whose gradient update trains the model: ``fast`` (:mod:`robot6_sb3.engine`) or ``sb3``
    (Stable-Baselines3's own; every checkpoint made before the fast engine existed)."""
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

    @classmethod
    def of_run(
        cls,
        model: OffPolicyAlgorithm,
        run_name: str,
        run_id: str,
        settings: RunSettings,
        origin: RunMetadata | None = None,
        parent: dict[str, Any] | None = None,
        labels: dict[str, Any] | None = None,
    ) -> RunMetadata:
        """What the checkpoints of ``model``'s run record about it.

        :param model: the model, with its training env
        :param settings: how the run writes its files
        :param origin: the metadata of the checkpoint a resumed run continues (or forks)
            from: its labels and, for a run that continues, its creation time carry over
        :param parent: for a fork, where it branched off
        :param labels: more labels; they win over the origin's
        """
        venv = model.get_env()
        reasons = inexact_reasons(venv)
        if not settings.replay_log:
            reasons.append(
                "trained without the replay log (--no-buffer, replay_log=False): a resume "
                "starts with an empty replay buffer"
            )
        if model.device.type != "cpu":
            reasons.append(
                f"trained on {model.device.type}: GPU kernels are not bitwise reproducible"
            )
        description = describe_model(model)
        continues = origin is not None and origin.run_id == run_id
        return cls(
            algo=algo_name(model),
            policy=description["policy"],
            model_kwargs=description["kwargs"],
            **env_description(venv),
            obs_dim=int(spaces.flatdim(venv.observation_space)),
            act_dim=int(spaces.flatdim(venv.action_space)),
            run_name=run_name,
            run_id=run_id,
            settings=settings,
            seed=model.seed,
            device=model.device.type,
            engine=engine_name(model),
            exact=not reasons,
            inexact_reasons=reasons,
            parent=parent,
            labels={**(origin.labels if origin else {}), **(labels or {})},
            versions=package_versions(),
            created=origin.created
            if continues and origin
            else datetime.now().isoformat(timespec="seconds"),
        )

    @property
    def parent_run(self) -> str | None:
        """The name of the run this one was forked from (``None`` for a run of its own)."""
        return None if self.parent is None else str(self.parent.get("run"))

    @property
    def net_arch(self) -> Any:
        """The network layout, as given in ``policy_kwargs`` (``None``: the algorithm's default)."""
        return (self.model_kwargs.get("policy_kwargs") or {}).get("net_arch")

    @property
    def buffer_size(self) -> int:
        """The replay buffer's capacity (SB3's default of 1e6 where the run left it out)."""
        return int(self.model_kwargs.get("buffer_size", SB3_BUFFER_SIZE))

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
        return cls(**_checked(kwargs, source))


def _checked(values: dict[str, Any], source: str) -> dict[str, Any]:
    """``values`` checked against :class:`RunMetadata`'s annotations, settings made typed."""
    try:
        for name, value in values.items():
            if name != "settings":
                check_value(name, value, field_kind(RunMetadata, name))
        if values.get("n_envs", 1) < 1:
            raise ConfigError("n_envs", f"must be at least 1, got {values['n_envs']}")
        settings = values.get("settings", {})
        if not isinstance(settings, dict):
            raise ConfigError("settings", f"must be a dict, got {type(settings).__name__}")
        known = set(field_names(RunSettings))
        settings = RunSettings(**{k: v for k, v in settings.items() if k in known})
    except ConfigError as exc:
        raise CheckpointError(f"{source}: metadata '{exc.field}' {exc.problem}"[:300]) from None
    return {**values, "settings": settings}


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


def package_versions() -> dict[str, str]:
    """Versions of what shaped the checkpoint, stored in its metadata."""
    import gymnasium
    import numpy as np
    import sb3_contrib
    import stable_baselines3
    import torch

    versions = {
        "robot6_sb3": __version__,
        "stable_baselines3": stable_baselines3.__version__,
        "sb3_contrib": sb3_contrib.__version__,
        "torch": torch.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    # torch.__version__ is a str subclass that would need pickle to load.
    return {name: str(version) for name, version in versions.items()}
