"""What one training session is asked to do, as one typed value: :class:`TrainConfig`.

It holds the run's own choices (episodes, env, algorithm, seed, device, envs, folders, what to
resume), how the run writes its files (:class:`~robot6_sb3.run_settings.RunSettings`) and
the hyperparameters (:class:`~robot6_sb3.hyperparameters.Hyperparameters`). Every field has
its default and its description once, here or in those two classes; ``robot6 train``'s
options, a sweep's trials and a Python caller all build this same value, and
:func:`~robot6_sb3.planning.plan_training` and :func:`~robot6_sb3.trainer.run_training` take it
whole.

A resumed run keeps its checkpoint's values for the fields in :data:`KEPT_ON_RESUME` unless the
caller set them; :attr:`TrainConfig.given` records which fields were set.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import robot6_envs
from robot6_sb3.algorithms import ALGORITHMS, ENGINE_CLASSES
from robot6_sb3.config_fields import ConfigError, check_fields, field_help, field_names, setting
from robot6_sb3.devices import DEVICES
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.layout import DEFAULT_CHECKPOINTS_DIR, DEFAULT_RUNS_DIR
from robot6_sb3.run_settings import CHOSEN, RunSettings

VEC_ENV_KINDS = ("dummy", "subproc")
SEED_RANGE = 2**32
"""Seeds NumPy accepts: 0 to 2**32 - 1."""


@dataclass(frozen=True)
class TrainConfig:
    """One training session: a new run, or the continuation or fork of a saved one."""

    episodes: int = setting(300, at_least=1)
    """The run's total number of episodes; a resumed run trains until it has this many."""
    env_id: str = setting(robot6_envs.ENV_ID)
    """Gymnasium id of the env to train on."""
    algo: str = setting("sac", choices=tuple(ALGORITHMS))
    """Algorithm: sac, tqc, td3, ddpg or crossq."""
    seed: int | None = setting(None, at_least=0, at_most=SEED_RANGE - 1)
    """Random seed of a new run (unset: a random one, recorded in the checkpoints)."""
    device: str = setting("auto", choices=DEVICES)
    """Where to train: auto, cpu or cuda."""
    threads: int = setting(1, at_least=1)
    """PyTorch CPU threads; one is fastest for small nets on few cores."""
    n_envs: int = setting(1, at_least=1)
    """Envs stepped together, each episode logged as it ends."""
    vec_env: str = setting("dummy", choices=VEC_ENV_KINDS)
    """How the envs run: dummy (one process) or subproc (a process each)."""
    engine: str | None = setting(None, choices=tuple(ENGINE_CLASSES))
    """Whose gradient update trains: fast (SB3's update computed faster; sac and tqc) or sb3
    (Stable-Baselines3's own). Unset: fast for sac and tqc, sb3 for the others. Another engine
    than a checkpoint's continues its run, but not bitwise."""
    checkpoints_dir: Path = DEFAULT_CHECKPOINTS_DIR
    """Folder holding one sub-folder of checkpoints per run."""
    runs_dir: Path = DEFAULT_RUNS_DIR
    """Folder holding one sub-folder of TensorBoard events and CSV per run."""
    resume: bool = False
    """Continue the newest run from its newest loadable checkpoint."""
    resume_ckpt: Path | None = None
    """Continue from exactly this checkpoint (implies resume); latest.pth continues its run, any
    other file forks a new run."""
    settings: RunSettings = field(default_factory=RunSettings)
    """How the run writes its files."""
    hyperparameters: Hyperparameters = field(default_factory=Hyperparameters)
    """What the algorithm learns with."""
    labels: dict[str, Any] = field(default_factory=dict)
    """Plain values stored in every checkpoint's metadata (a sweep's study and trial, say)."""
    given: frozenset[str] = frozenset()
    """The fields that were set, by name (those of ``settings`` and ``hyperparameters`` too);
    a resumed run takes the others of :data:`KEPT_ON_RESUME` from its checkpoint."""

    def __post_init__(self) -> None:
        check_fields(self)
        unknown = self.given - ALL_FIELDS
        if unknown:
            raise ConfigError("given", f"names unknown fields: {', '.join(sorted(unknown))}")

    @classmethod
    def from_options(cls, **options: Any) -> TrainConfig:
        """Build from fields named flat, as the CLI's options and a sweep's parameters name
        them (``learning_rate=3e-4, save_every=10, episodes=200``); ``None`` means not set.

        :raises ConfigError: for an unknown name or a value that does not fit its field
        """
        options = {name: value for name, value in options.items() if value is not None}
        unknown = set(options) - ALL_FIELDS
        if unknown:
            raise ConfigError(sorted(unknown)[0], "is not a training setting")
        if options.get("resume_ckpt") is not None:
            options["resume"] = True
        own = {name: options[name] for name in OWN_FIELDS if name in options}
        return cls(
            **own,
            settings=RunSettings(**_pick(options, SETTINGS_FIELDS)),
            hyperparameters=Hyperparameters(**_pick(options, HYPERPARAMETER_FIELDS)),
            given=frozenset(options),
        )

    def was_given(self, name: str) -> bool:
        return name in self.given

    def given_settings(self) -> dict[str, Any]:
        """The run settings that were set, as keyword arguments."""
        return _pick(dataclasses.asdict(self.settings), SETTINGS_FIELDS & self.given)

    def given_hyperparameters(self) -> frozenset[str]:
        return HYPERPARAMETER_FIELDS & self.given

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with fields changed; changed fields of its own count as given."""
        return dataclasses.replace(self, **changes, given=self.given | (set(changes) & OWN_FIELDS))


def _pick(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


OWN_FIELDS = frozenset(field_names(TrainConfig)) - {
    "settings",
    "hyperparameters",
    "labels",
    "given",
}
SETTINGS_FIELDS = frozenset(CHOSEN)
HYPERPARAMETER_FIELDS = frozenset(field_names(Hyperparameters))
ALL_FIELDS = OWN_FIELDS | SETTINGS_FIELDS | HYPERPARAMETER_FIELDS
"""Every name :meth:`TrainConfig.from_options` takes."""

KEPT_ON_RESUME = (
    frozenset({"env_id", "algo", "n_envs", "vec_env", "engine", "runs_dir"})
    | SETTINGS_FIELDS
    | HYPERPARAMETER_FIELDS
)
"""Fields a resumed run takes from its checkpoint unless they were set."""

MUST_MATCH_ON_RESUME = frozenset({"env_id", "algo", "n_envs", "net_arch"})
"""Fields a resumed run cannot change: set, they must equal the checkpoint's."""


def describe(name: str) -> str:
    """Field ``name``'s description, default and what a resume does with it, for ``--help``."""
    owner = (
        RunSettings
        if name in SETTINGS_FIELDS
        else Hyperparameters
        if name in HYPERPARAMETER_FIELDS
        else TrainConfig
    )
    text = field_help(owner, name)
    if name in MUST_MATCH_ON_RESUME:
        text += " A resumed run keeps its own; given, it must match."
    elif name in KEPT_ON_RESUME:
        text += " A resumed run keeps its own unless this is given."
    return text
