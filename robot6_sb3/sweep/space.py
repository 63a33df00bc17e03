"""The sweep's space file: which parameters a sweep samples, from which distributions, and
how each trial is trained, evaluated and pruned.

A small YAML (or TOML, Python 3.11+) file; ``examples/sweep_space.yaml`` documents every key::

    episodes: 200              # per trial (``robot6 sweep run --episodes`` overrides it)
    metric: mean_reward        # or success_rate; the study maximizes it
    eval_every: 20             # completed episodes between evaluations reported to the pruner
    eval_episodes: 10          # deterministic episodes per evaluation
    pruner: median             # median, halving or none (or a mapping with type: and options)
    params:
      learning_rate: {type: float, low: 1.0e-4, high: 3.0e-3, log: true}
      batch_size: {type: categorical, choices: [64, 128, 256]}
      net_arch: {type: categorical, choices: ["64,64", "256,256"]}
      seed: {type: int, low: 0, high: 999}
      algo: {type: categorical, choices: [sac, tqc]}
      buffer_size: 100000      # a plain value: every trial uses it

Parameter names are the fields of :class:`~robot6_sb3.hyperparameters.Hyperparameters` plus
``seed`` and ``algo``. Optuna is imported only where a trial is sampled, so this module works
without the ``sweep`` extra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robot6_sb3.errors import UsageError
from robot6_sb3.planning import robot6_env_ids
from robot6_sb3.sweep.parameters import (
    PARAMETER_KINDS,
    Distribution,
    check_value,
    convert_value,
    parse_distribution,
    parse_net_arch,
    plain,
)

if TYPE_CHECKING:
    import optuna

METRICS = ("mean_reward", "success_rate")
PRUNERS = ("median", "halving", "none")
SAMPLERS = ("tpe", "random")

_TOP_LEVEL_KEYS = (
    "params",
    "episodes",
    "metric",
    "eval_every",
    "eval_episodes",
    "eval_seed",
    "pruner",
    "sampler",
    "env",
)


@dataclass(frozen=True)
class SearchSpace:
    """A parsed, checked space file."""

    distributions: dict[str, Distribution]
    """Sampled parameters, by name."""
    fixed: dict[str, Any] = field(default_factory=dict)
    """Parameters every trial uses as given (already converted, e.g. net_arch a tuple)."""
    episodes: int = 100
    """Episodes per trial."""
    metric: str = "mean_reward"
    """The evaluation number the study maximizes: ``mean_reward`` or ``success_rate``."""
    eval_every: int = 10
    """Completed episodes between two evaluations reported to the pruner."""
    eval_episodes: int = 5
    """Deterministic episodes per evaluation."""
    eval_seed: int = 0
    """Seed of the evaluation env: every trial is evaluated on the same targets."""
    pruner: dict[str, Any] = field(default_factory=lambda: {"type": "median"})
    """``type`` (median, halving, none) plus keyword arguments of the Optuna pruner."""
    sampler: str = "tpe"
    env_id: str | None = None
    """The env of every trial (default: the trainer's default env)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description; two workers of one study must agree on it."""
        return {
            "params": {name: dist.to_dict() for name, dist in self.distributions.items()},
            "fixed": {name: plain(value) for name, value in self.fixed.items()},
            "episodes": self.episodes,
            "metric": self.metric,
            "eval_every": self.eval_every,
            "eval_episodes": self.eval_episodes,
            "eval_seed": self.eval_seed,
            "pruner": self.pruner,
            "sampler": self.sampler,
            "env": self.env_id,
        }

    def fingerprint(self) -> str:
        """The space as canonical JSON, without ``episodes`` (a command-line setting)."""
        values = self.to_dict()
        del values["episodes"]
        return json.dumps(values, sort_keys=True)

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """The parameters of ``trial``: sampled ones (or a retried trial's own) plus fixed ones,
        converted for :class:`~robot6_sb3.training_config.TrainConfig` (net_arch a tuple)."""
        values = dict(self.fixed)
        for name, dist in self.distributions.items():
            if dist.kind == "categorical":
                value = trial.suggest_categorical(name, list(dist.choices))
            elif dist.kind == "int":
                step = 1 if dist.step is None else int(dist.step)
                value = trial.suggest_int(
                    name, int(dist.low), int(dist.high), step=step, log=dist.log
                )  # type: ignore[arg-type]
            else:
                value = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)  # type: ignore[arg-type]
            values[name] = parse_net_arch(value, name) if name == "net_arch" else value
        return values


def _positive_int(values: dict[str, Any], key: str, default: int, minimum: int = 1) -> int:
    value = values.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"'{key}' must be a whole number >= {minimum}, got {value!r}")
    return value


def _parse_pruner(value: Any) -> dict[str, Any]:
    spec = {"type": value} if isinstance(value, str) else value
    if not isinstance(spec, dict) or spec.get("type") not in PRUNERS:
        raise UsageError(
            f"'pruner' must be one of {', '.join(PRUNERS)} or a mapping with 'type' and the "
            f"pruner's options, got {value!r}"
        )
    return dict(spec)


def space_from_dict(values: Any, source: str = "space file") -> SearchSpace:
    """Check and convert a space file's content.

    :param values: the parsed YAML/TOML document
    :param source: how messages name the file
    :raises UsageError: naming the unknown parameter or key, or the malformed distribution
    """
    if not isinstance(values, dict):
        raise UsageError(f"{source}: expected a mapping with a 'params' key, got {values!r}")
    unknown = sorted(set(values) - set(_TOP_LEVEL_KEYS))
    if unknown:
        raise UsageError(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"a space file takes: {', '.join(_TOP_LEVEL_KEYS)}"
        )
    params = values.get("params")
    if not isinstance(params, dict) or not params:
        raise UsageError(f"{source}: 'params' must map parameter names to distributions")
    distributions: dict[str, Distribution] = {}
    fixed: dict[str, Any] = {}
    for name, spec in params.items():
        where = f"{source}: parameter {name!r}"
        if name not in PARAMETER_KINDS:
            raise UsageError(
                f"{source}: unknown parameter {name!r}; a space samples these: "
                f"{', '.join(PARAMETER_KINDS)}"
            )
        if isinstance(spec, dict):
            distributions[name] = parse_distribution(name, spec, where)
        else:
            fixed[name] = convert_value(name, spec, where)
            check_value(name, fixed[name], where)
    metric = values.get("metric", "mean_reward")
    if metric not in METRICS:
        raise UsageError(f"{source}: 'metric' must be one of {', '.join(METRICS)}, got {metric!r}")
    sampler = values.get("sampler", "tpe")
    if sampler not in SAMPLERS:
        raise UsageError(
            f"{source}: 'sampler' must be one of {', '.join(SAMPLERS)}, got {sampler!r}"
        )
    env_id = values.get("env")
    if env_id is not None and env_id not in robot6_env_ids():
        raise UsageError(
            f"{source}: unknown env {env_id!r}; choose one of: {', '.join(robot6_env_ids())}"
        )
    try:
        return SearchSpace(
            distributions=distributions,
            fixed=fixed,
            episodes=_positive_int(values, "episodes", 100),
            metric=metric,
            eval_every=_positive_int(values, "eval_every", 10),
            eval_episodes=_positive_int(values, "eval_episodes", 5),
            eval_seed=_positive_int(values, "eval_seed", 0, minimum=0),
            pruner=_parse_pruner(values.get("pruner", "median")),
            sampler=sampler,
            env_id=env_id,
        )
    except UsageError as exc:
        raise UsageError(f"{source}: {exc}") from None


def load_space(path: Path) -> SearchSpace:
    """Read and check a ``.yaml``/``.yml`` or ``.toml`` space file (see
    :mod:`~robot6_sb3.sweep.space_file` for what is refused before it is parsed).

    :raises UsageError: when the file is missing, too big, unparsable or invalid
    """
    from robot6_sb3.sweep.space_file import read_space_file

    return space_from_dict(read_space_file(path), str(path))
