"""Tests of ``robot6_sb3.config_fields``: typed fields that check themselves and describe
themselves once, for every settings class."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pytest

from robot6_sb3.config_fields import (
    ConfigError,
    check_fields,
    check_value,
    field_docs,
    field_help,
    setting,
)
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.run_settings import RunSettings
from robot6_sb3.training_config import TrainConfig


@dataclass(frozen=True)
class Example:
    count: int = setting(3, at_least=1)
    """How many."""
    rate: float = setting(0.5, positive=True, at_most=1)
    """A share."""
    kind: str = setting("a", choices=("a", "b"))
    """Which one."""
    limit: int | None = setting(None, at_least=0, at_most=9)
    """Optional, between 0 and 9."""
    sizes: tuple[int, ...] = setting((4, 5))
    """Layer sizes."""
    on: bool = setting(True)
    """A switch."""
    folder: Path = Path("x")
    """Where."""

    def __post_init__(self) -> None:
        check_fields(self)


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"count": 0}, "count", "must be at least 1, got 0"),
        ({"count": 2.5}, "count", "must be a whole number, got 2.5"),
        ({"count": True}, "count", "must be a whole number, got True"),
        ({"count": None}, "count", "must be given, got None"),
        ({"rate": 0.0}, "rate", "must be a positive number, got 0.0"),
        ({"rate": float("nan")}, "rate", "must be a positive number, got nan"),
        ({"rate": 1.5}, "rate", "must be at most 1, got 1.5"),
        ({"rate": "fast"}, "rate", "must be a number, got 'fast'"),
        ({"kind": "c"}, "kind", "must be one of a, b, got 'c'"),
        ({"limit": 10}, "limit", "must be between 0 and 9, got 10"),
        ({"sizes": (4, "x")}, "sizes", "must be a tuple of whole numbers, got (4, 'x')"),
        ({"on": 1}, "on", "must be true or false, got 1"),
        ({"folder": "x"}, "folder", "must be a Path, got 'x'"),
    ],
)
def test_a_value_out_of_its_field_is_refused_naming_the_field(
    changes: dict, field: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Example(**changes)

    assert (caught.value.field, caught.value.problem) == (field, problem)
    assert str(caught.value) == f"{field} {problem}"
    assert isinstance(caught.value, ValueError), "library callers may catch ValueError"


def test_values_inside_their_fields_are_kept_as_given() -> None:
    example = Example(count=1, rate=1, kind="b", limit=0, sizes=(), on=False, folder=Path("y"))

    assert dataclasses.astuple(example) == (1, 1, "b", 0, (), False, Path("y"))
    check_value("anything", 3, int | None)


def test_help_says_the_docstring_and_the_default_once() -> None:
    assert field_help(Example, "count") == "How many. Default: 3."
    assert field_help(Example, "sizes") == "Layer sizes. Default: 4,5."
    assert field_help(Example, "on") == "A switch. Default: on."
    assert field_help(Example, "limit") == "Optional, between 0 and 9."
    assert field_help(Example, "count", default="three") == "How many. Default: three."


@pytest.mark.parametrize("cls", [Hyperparameters, RunSettings, TrainConfig])
def test_every_settings_field_has_a_docstring(cls: type) -> None:
    documented = field_docs(cls)
    missing = [f.name for f in dataclasses.fields(cls) if not documented.get(f.name)]

    assert missing == [], f"{cls.__name__} fields without a docstring: {missing}"
