"""The sweep space file: parsing, validation messages and sampling."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from robot6_sb3.errors import UsageError
from robot6_sb3.sweep.space import Distribution, SearchSpace, load_space, space_from_dict
from robot6_sb3.sweep.space_file import MAX_SPACE_FILE_BYTES

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sweep_space.yaml"


def _space(params: dict, **settings: object) -> SearchSpace:
    return space_from_dict({"params": params, **settings}, "space.yaml")


def _error(params: dict, **settings: object) -> str:
    with pytest.raises(UsageError) as info:
        _space(params, **settings)
    return str(info.value)


def test_the_example_space_file_parses() -> None:
    space = load_space(EXAMPLE)

    assert sorted(space.distributions) == [
        "algo", "batch_size", "gamma", "learning_rate", "net_arch", "seed", "tau",
    ]  # fmt: skip
    assert space.fixed == {"buffer_size": 300000, "learning_starts": 1000}
    assert space.distributions["learning_rate"] == Distribution(
        "float", low=1e-4, high=3e-3, log=True
    )
    assert space.distributions["net_arch"].choices == ("64,64", "256,256", "256,256,256")
    assert (space.episodes, space.metric, space.eval_every, space.eval_episodes) == (
        200, "success_rate", 20, 20,
    )  # fmt: skip
    assert space.pruner == {"type": "median"}


def test_defaults_and_conversions() -> None:
    space = _space(
        {
            "learning_rate": {"type": "float", "low": "1e-4", "high": "1e-2", "log": True},
            "net_arch": {"type": "categorical", "choices": [[32, 32], "64,64"]},
            "batch_size": {"type": "int", "low": 32, "high": 128, "step": 32},
            "gamma": 0.9,
        }
    )

    assert space.distributions["learning_rate"] == Distribution(
        "float", low=1e-4, high=1e-2, log=True
    )
    assert space.distributions["net_arch"].choices == ("32,32", "64,64")
    assert space.distributions["batch_size"] == Distribution("int", low=32, high=128, step=32)
    assert space.fixed == {"gamma": 0.9}
    assert (space.episodes, space.metric, space.eval_every, space.eval_episodes) == (
        100, "mean_reward", 10, 5,
    )  # fmt: skip
    assert space.pruner == {"type": "median"} and space.sampler == "tpe"


def test_sample_converts_for_the_trainer() -> None:
    space = _space(
        {
            "net_arch": {"type": "categorical", "choices": ["32,32", "64,64,64"]},
            "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "seed": {"type": "int", "low": 0, "high": 9},
            "algo": {"type": "categorical", "choices": ["sac", "tqc"]},
            "buffer_size": 5000,
        }
    )
    trial = optuna.trial.FixedTrial(
        {"net_arch": "64,64,64", "learning_rate": 2e-3, "seed": 4, "algo": "tqc"}
    )

    assert space.sample(trial) == {
        "buffer_size": 5000,
        "net_arch": (64, 64, 64),
        "learning_rate": 2e-3,
        "seed": 4,
        "algo": "tqc",
    }


def test_fingerprint_ignores_episodes_but_not_the_space() -> None:
    params = {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}
    base = _space(params, episodes=10)

    assert _space(params, episodes=50).fingerprint() == base.fingerprint()
    assert _space(params, metric="success_rate").fingerprint() != base.fingerprint()


@pytest.mark.parametrize(
    ("params", "settings", "expected"),
    [
        ({"learning_rat": 0.1}, {}, "unknown parameter 'learning_rat'"),
        ({"gamma": {"low": 0.9, "high": 0.99}}, {}, "'type' must be one of float, int, categorical, got None"),
        ({"gamma": {"type": "normal", "low": 0.9, "high": 0.99}}, {}, "got 'normal'"),
        ({"gamma": {"type": "float", "low": 0.9}}, {}, "a float distribution needs 'high'"),
        ({"gamma": {"type": "float", "low": 0.99, "high": 0.9}}, {}, "low must be below high, got low=0.99, high=0.9"),
        ({"gamma": {"type": "float", "low": 0.9, "high": 0.99, "mean": 1}}, {}, "unknown key(s) 'mean' for a float distribution"),
        ({"learning_rate": {"type": "float", "low": 0, "high": 0.1, "log": True}}, {}, "a log distribution needs low > 0"),
        ({"batch_size": {"type": "float", "low": 32, "high": 64}}, {}, "batch_size is a whole number"),
        ({"batch_size": {"type": "categorical", "choices": []}}, {}, "'choices' must be a non-empty list"),
        ({"batch_size": {"type": "categorical", "choices": [32, 32.5]}}, {}, "must be a whole number, got 32.5"),
        ({"gamma": {"type": "float", "low": -1.0, "high": 0.99}}, {}, "gamma must be a positive number, got -1.0"),
        ({"algo": {"type": "categorical", "choices": ["sac", "ppo"]}}, {}, "algo must be one of sac, tqc, td3, ddpg, crossq, got 'ppo'"),
        ({"net_arch": {"type": "categorical", "choices": ["64,x"]}}, {}, "net_arch takes layer sizes"),
        ({"net_arch": {"type": "int", "low": 1, "high": 3}}, {}, "net_arch takes a categorical distribution"),
        ({"gamma": 1.5}, {}, "gamma must be at most 1, got 1.5"),
        ({"gamma": 0.9}, {"metric": "loss"}, "'metric' must be one of mean_reward, success_rate"),
        ({"gamma": 0.9}, {"pruner": "hyperband"}, "'pruner' must be one of median, halving, none"),
        ({"gamma": 0.9}, {"episodes": 0}, "'episodes' must be a whole number >= 1, got 0"),
        ({"gamma": 0.9}, {"trials": 3}, "unknown key(s) 'trials'"),
        ({}, {}, "'params' must map parameter names to distributions"),
    ],
)  # fmt: skip
def test_bad_space_is_refused_with_a_message_naming_the_problem(
    params: dict, settings: dict, expected: str
) -> None:
    message = _error(params, **settings)

    assert message.startswith("space.yaml")
    assert expected in message


def test_load_space_reports_unreadable_and_malformed_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(UsageError, match=r"cannot read the space file .*nope\.yaml"):
        load_space(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("params: {gamma: [\n")
    with pytest.raises(UsageError, match=r"broken\.yaml is not valid YAML"):
        load_space(broken)
    other = tmp_path / "space.json"
    other.write_text("{}")
    with pytest.raises(UsageError, match=r"ends in \.yaml, \.yml or \.toml"):
        load_space(other)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TOML needs tomllib (Python 3.11+)")
def test_toml_space_file(tmp_path: Path) -> None:
    path = tmp_path / "space.toml"
    path.write_text(
        'episodes = 7\npruner = "none"\n[params]\n'
        'learning_rate = {type = "float", low = 1e-4, high = 1e-3, log = true}\n'
        "batch_size = 64\n"
    )

    space = load_space(path)

    assert space.episodes == 7 and space.pruner == {"type": "none"}
    assert space.fixed == {"batch_size": 64}
    assert space.distributions["learning_rate"].high == 1e-3


ALIAS_BOMB = """\
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
params: {gamma: *i}
"""
"""The classic "billion laughs": 9**9 strings from 487 bytes."""

GOOD = "params:\n  gamma: 0.9\n"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bomb.yaml", ALIAS_BOMB, "anchors and aliases (& and *) are not allowed"),
        ("anchor.yaml", "params: &p\n  gamma: 0.9\n", "anchors and aliases (& and *) are not allowed"),
        ("merge.yaml", "params:\n  <<: {gamma: 0.9}\n", "merge keys (<<) are not allowed"),
        ("top.yaml", GOOD + "episodes: 3\nepisodes: 4\n", "duplicate key 'episodes'"),
        ("nested.yaml", GOOD + "  gamma: 0.95\n", "duplicate key 'gamma'"),
        ("deep.yaml", "params: " + "[" * 5000 + "]" * 5000, "is nested too deeply"),
        ("long-int.yaml", "episodes: " + "9" * 5000 + "\n" + GOOD, "is not valid YAML"),
        ("huge.yaml", GOOD + "#" * MAX_SPACE_FILE_BYTES, "is larger than 64 KiB"),
        ("latin1.yaml", GOOD.encode() + b"# caf\xe9\n", "is not UTF-8 text (byte 26 is 0xe9)"),
        ("space.toml", "episodes = 3\nepisodes = 4\n", "is not valid TOML: Cannot overwrite a value"),
        ("table.toml", "[params]\ngamma = 0.9\n[params]\ntau = 0.1\n", "is not valid TOML"),
        ("deep.toml", "a = " + "[" * 5000 + "]" * 5000, "is nested too deeply"),
        ("markup.yaml", GOOD + "  algo: '[/x]'\n", "algo must be one of sac, tqc, td3, ddpg, crossq, got '[/x]'"),
    ],
)  # fmt: skip
def test_hostile_space_files_are_refused_quickly_naming_the_problem(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    started = time.monotonic()

    with pytest.raises(UsageError) as info:
        load_space(path)

    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert time.monotonic() - started < 2


def test_a_space_file_of_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "space.yaml"
    path.write_text(GOOD + "#" * (MAX_SPACE_FILE_BYTES - len(GOOD)))

    assert load_space(path).fixed == {"gamma": 0.9}


def test_a_folder_is_not_a_space_file(tmp_path: Path) -> None:
    (tmp_path / "space.yaml").mkdir()

    with pytest.raises(
        UsageError, match=r"cannot read the space file .*space\.yaml: Is a directory"
    ):
        load_space(tmp_path / "space.yaml")
