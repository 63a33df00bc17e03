"""Typed settings whose fields say everything about themselves once.

A settings class (:class:`~robot6_sb3.hyperparameters.Hyperparameters`,
:class:`~robot6_sb3.run_metadata.RunSettings`, :class:`~robot6_sb3.training_config.TrainConfig`)
is a frozen dataclass. Each field has its default, its docstring (the string right below it)
and, through :func:`setting`, the values it accepts. From these come the validation of every
instance (:func:`check_fields`, raising :class:`ConfigError` that names the field), the help
texts of the CLI options (:func:`field_help`) and the checks of a sweep's search space: none of
them spells a default, a description or a range again.

Only the standard library is imported here, so the CLI can build its options quickly.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot6_sb3.errors import UsageError


@dataclass(frozen=True)
class Accepts:
    """The values a field takes, beyond its type."""

    at_least: float | None = None
    at_most: float | None = None
    positive: bool = False
    """Greater than zero (and finite)."""
    choices: tuple[str, ...] = ()


def setting(
    default: Any,
    *,
    at_least: float | None = None,
    at_most: float | None = None,
    positive: bool = False,
    choices: tuple[str, ...] = (),
) -> Any:
    """A dataclass field with ``default`` that accepts only the values described."""
    accepts = Accepts(at_least, at_most, positive, tuple(choices))
    if isinstance(default, (list, dict, set)):
        raise TypeError("mutable defaults need default_factory")
    return dataclasses.field(default=default, metadata={"accepts": accepts})


class ConfigError(UsageError, ValueError):
    """A settings value out of its range or of the wrong type; :attr:`field` names it as the
    dataclass does (the CLI turns it into its flag)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


def check_fields(settings: Any) -> None:
    """Check every field of the dataclass instance ``settings`` against its type and
    :class:`Accepts`.

    :raises ConfigError: for the first value that does not fit
    """
    hints = _type_hints(type(settings))
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        check_value(field.name, value, hints[field.name], field.metadata.get("accepts"))


def check_value(name: str, value: Any, kind: Any, accepts: Accepts | None = None) -> None:
    """Check one value of field ``name`` (annotated ``kind``).

    :raises ConfigError: when it does not fit
    """
    if value is None:
        if type(None) not in _alternatives(kind):
            raise ConfigError(name, "must be given, got None")
        return
    problem = _type_problem(value, kind)
    if problem is not None:
        raise ConfigError(name, f"must be {problem}, got {value!r}")
    if accepts is None:
        return
    if accepts.choices and value not in accepts.choices:
        raise ConfigError(name, f"must be one of {', '.join(accepts.choices)}, got {value!r}")
    if accepts.positive and not (value > 0 and math.isfinite(value)):
        raise ConfigError(name, f"must be a positive number, got {value}")
    low, high = accepts.at_least, accepts.at_most
    if low is not None and high is not None and not low <= value <= high:
        raise ConfigError(name, f"must be between {_number(low)} and {_number(high)}, got {value}")
    if accepts.at_least is not None and value < accepts.at_least:
        raise ConfigError(name, f"must be at least {_number(accepts.at_least)}, got {value}")
    if accepts.at_most is not None and value > accepts.at_most:
        raise ConfigError(name, f"must be at most {_number(accepts.at_most)}, got {value}")


def accepts_of(cls: type, name: str) -> Accepts:
    """What field ``name`` of ``cls`` accepts (nothing beyond its type: an empty one)."""
    return _fields(cls)[name].metadata.get("accepts", Accepts())


def field_kind(cls: type, name: str) -> Any:
    """The annotation of field ``name`` of ``cls``, resolved (``int | None``, ...)."""
    return _type_hints(cls)[name]


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(_fields(cls))


def field_help(cls: type, name: str, default: str | None = None) -> str:
    """The docstring of field ``name`` with its default, as the CLI's ``--help`` shows it.

    :param default: how to say the default when its value does not say it well
    """
    if default is None:
        value = _fields(cls)[name].default
        if value is None or value is dataclasses.MISSING:
            return field_docs(cls)[name]
        if isinstance(value, bool):
            default = "on" if value else "off"
        elif isinstance(value, tuple):
            default = ",".join(map(str, value))
        else:
            default = str(value)
    return f"{field_docs(cls)[name]} Default: {default}."


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring: the string right below it in the class body."""
    body = ast.parse(inspect.getsource(cls)).body[0].body
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


@functools.cache
def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {field.name: field for field in dataclasses.fields(cls)}


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _alternatives(kind: Any) -> tuple[Any, ...]:
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return typing.get_args(kind)
    return (kind,)


def _type_problem(value: Any, kind: Any) -> str | None:
    """What ``value`` should have been for annotation ``kind``, or ``None`` when it fits."""
    wanted = [alt for alt in _alternatives(kind) if alt is not type(None)]
    for alt in wanted:
        if _fits(value, alt):
            return None
    return " or ".join(_describe(alt) for alt in wanted)


def _fits(value: Any, kind: Any) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if kind is Path:
        return isinstance(value, Path)
    origin = typing.get_origin(kind)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return isinstance(value, tuple) and all(_fits(entry, item) for entry in value)
    if origin in (dict, list, frozenset):
        return isinstance(value, origin)
    if kind is Any:
        return True
    return isinstance(value, kind) if isinstance(kind, type) else True


def _describe(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        plural = {int: "whole numbers", float: "numbers", str: "strings"}
        return f"a tuple of {plural.get(typing.get_args(kind)[0], 'values')}"
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    return names.get(kind, f"a {getattr(kind, '__name__', kind)}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**63 else str(value)
