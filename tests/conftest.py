"""Fixtures: a fresh working folder, ``robot6`` run in-process inside it, and arm envs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch
from typer.testing import CliRunner

from robot6_envs import ENV_ID
from robot6_sb3.cli import app
from tests.helpers import CliResult

# Several threads on a 2-core machine shared with other work slow tiny nets down many times.
torch.set_num_threads(1)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh working directory, as a user's project folder."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def robot6(workdir: Path) -> Callable[..., CliResult]:
    """Run ``robot6 ARGS...`` in-process in ``workdir``; returns exit code and output."""
    runner = CliRunner()

    def run(*args: str) -> CliResult:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def make_env() -> Iterator[Callable[..., gym.Env]]:
    """``make(env_id=ENV_ID, **kwargs)``: ``gym.make``, each env closed after the test."""
    envs: list[gym.Env] = []

    def make(env_id: str = ENV_ID, **kwargs: Any) -> gym.Env:
        env = gym.make(env_id, **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()
