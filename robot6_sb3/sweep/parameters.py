"""One parameter of a sweep space: which parameters there are and their kinds, a parameter's
distribution, and the checks of its values (with the trainer's own rules)."""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any

from robot6_sb3.config_fields import ConfigError, field_kind
from robot6_sb3.errors import UsageError
from robot6_sb3.hyperparameters import FIELD_NAMES, Hyperparameters
from robot6_sb3.training_config import TrainConfig

DISTRIBUTION_TYPES = ("float", "int", "categorical")


def _kind(annotation: Any) -> type:
    """``float``, ``int``, ``tuple`` or ``str``: how a field's values are read from a space."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        (annotation,) = (arg for arg in typing.get_args(annotation) if arg is not type(None))
    annotation = typing.get_origin(annotation) or annotation
    return annotation if annotation in (float, int, tuple) else str


PARAMETER_KINDS: dict[str, type] = {
    name: _kind(field_kind(cls, name))
    for cls, names in ((Hyperparameters, sorted(FIELD_NAMES)), (TrainConfig, ("seed", "algo")))
    for name in names
}
"""Every parameter a space may name (the hyperparameter fields, seed, algo), with its kind."""


@dataclass(frozen=True)
class Distribution:
    """One parameter's distribution, in Optuna's terms.

    ``net_arch`` choices are kept as ``"64,64"`` strings because Optuna's categorical values
    must be plain scalars.
    """

    kind: str
    """``float``, ``int`` or ``categorical``."""
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        if self.kind == "categorical":
            return {"type": self.kind, "choices": list(self.choices)}
        values: dict[str, Any] = {"type": self.kind, "low": self.low, "high": self.high}
        if self.log:
            values["log"] = True
        if self.step is not None:
            values["step"] = self.step
        return values


def plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_net_arch(value: Any, where: str) -> tuple[int, ...]:
    """``"64,64"``, ``[64, 64]`` or ``64`` as a tuple of layer sizes."""
    try:
        if isinstance(value, str):
            sizes = tuple(int(part) for part in value.split(","))
        elif isinstance(value, (list, tuple)):
            sizes = tuple(_integer(part) for part in value)
        else:
            sizes = (_integer(value),)
    except (TypeError, ValueError):
        raise UsageError(
            f'{where}: net_arch takes layer sizes like "256,256" or [256, 256], got {value!r}'
        ) from None
    return sizes


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _number(value: Any, kind: type, where: str) -> float | int:
    """``value`` as ``kind`` (float or int); YAML reads ``1e-4`` as a string, so numeric
    strings are accepted for floats."""
    if isinstance(value, bool):
        raise UsageError(f"{where} must be a number, got {value!r}")
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise UsageError(f"{where} must be a whole number, got {value!r}")
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise UsageError(f"{where} must be a number, got {value!r}") from None
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def convert_value(name: str, value: Any, where: str) -> Any:
    """A parameter value as the trainer takes it (checked for its kind, not its range)."""
    kind = PARAMETER_KINDS[name]
    if name == "net_arch":
        return parse_net_arch(value, where)
    if kind is str:
        if not isinstance(value, str):
            raise UsageError(f"{where} must be a string, got {value!r}")
        return value
    return _number(value, kind, where)


def check_value(name: str, value: Any, where: str) -> None:
    """Check one parameter value against its :class:`TrainConfig` field (bounds, choices)."""
    try:
        TrainConfig.from_options(**{name: value})
    except ConfigError as exc:
        raise UsageError(f"{where}: {exc}") from None


def parse_distribution(name: str, spec: dict[str, Any], where: str) -> Distribution:
    spec = dict(spec)
    kind = spec.pop("type", None)
    if kind not in DISTRIBUTION_TYPES:
        raise UsageError(
            f"{where}: 'type' must be one of {', '.join(DISTRIBUTION_TYPES)}, got {kind!r} "
            "(a distribution looks like {type: float, low: 1.0e-4, high: 1.0e-2, log: true})"
        )
    allowed = ("choices",) if kind == "categorical" else ("low", "high", "log", "step")
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))} for a {kind} "
            f"distribution; it takes: {', '.join(allowed)}"
        )
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise UsageError(f"{where}: 'choices' must be a non-empty list, got {choices!r}")
        converted = [
            convert_value(name, choice, f"{where} choice {choice!r}") for choice in choices
        ]
        for choice in converted:
            check_value(name, choice, where)
        if name == "net_arch":
            converted = [",".join(map(str, arch)) for arch in converted]
        if len(set(converted)) != len(converted):
            raise UsageError(f"{where}: 'choices' has duplicates: {choices!r}")
        return Distribution("categorical", choices=tuple(converted))
    if PARAMETER_KINDS[name] not in (int, float):
        raise UsageError(
            f"{where}: {name} takes a categorical distribution (type: categorical, choices: "
            f"[...]), not {kind}"
        )
    if kind == "float" and PARAMETER_KINDS[name] is int:
        raise UsageError(f"{where}: {name} is a whole number; use type: int or categorical")
    number = int if kind == "int" else float
    for key in ("low", "high"):
        if key not in spec:
            raise UsageError(f"{where}: a {kind} distribution needs '{key}'")
    low = _number(spec["low"], number, f"{where} low")
    high = _number(spec["high"], number, f"{where} high")
    if not low < high:
        raise UsageError(f"{where}: low must be below high, got low={low}, high={high}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise UsageError(f"{where}: 'log' must be true or false, got {log!r}")
    if log and low <= 0:
        raise UsageError(f"{where}: a log distribution needs low > 0, got low={low}")
    step = spec.get("step")
    if step is not None:
        step = _number(step, number, f"{where} step")
        if step <= 0:
            raise UsageError(f"{where}: step must be positive, got {step}")
        if log:
            raise UsageError(f"{where}: 'step' and 'log: true' cannot be combined (Optuna)")
    for value in (low, high):
        check_value(name, value, where)
    return Distribution(kind, low=low, high=high, log=log, step=step)
