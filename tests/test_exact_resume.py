"""Exact resume: a stopped and resumed run is bitwise the run that never stopped."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.buffers import ReplayBuffer
from typer.testing import CliRunner

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.cli import app
from robot6_sb3.layout import REQUIRED_KEYS
from robot6_sb3.replay_log import load_buffer
from robot6_sb3.vec_env import make_env
from tests.helpers import TINY, assert_same_tensors, load, only_run

FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _train(root: Path, *args: str) -> None:
    result = CliRunner().invoke(
        app,
        [
            "train",
            *TINY,
            "--checkpoints-dir",
            str(root / "checkpoints"),
            "--runs-dir",
            str(root / "runs"),
            *args,
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output


def _csv(root: Path, run: str) -> str:
    return (root / "runs" / run / "training.csv").read_text()


def _buffer(path: Path) -> ReplayBuffer:
    """The replay buffer a resume from ``path`` starts with."""
    checkpoint = load_checkpoint(path)
    env = make_env(checkpoint["metadata"]["env_id"], {})
    buffer = ReplayBuffer(10000, env.observation_space, env.action_space)
    load_buffer(buffer, path.parent.parent, checkpoint["replay"]["lineage"])
    return buffer


def _same_model_state(a: Path, b: Path) -> None:
    first, second = load(a), load(b)
    for key in REQUIRED_KEYS:
        assert_same_tensors(first[key], second[key], key)
    assert_same_tensors(first["rng_state"], second["rng_state"], "rng_state")
    assert_same_tensors(first["env_state"], second["env_state"], "env_state")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A 6-episode run that was never stopped: the reference."""
    root = tmp_path_factory.mktemp("uninterrupted")
    _train(root, "--episodes", "6", "--save-every", "2")
    return root, only_run(root / "checkpoints").name


def test_stop_and_resume_is_bitwise_the_uninterrupted_run(uninterrupted, tmp_path: Path) -> None:
    reference, ref_run = uninterrupted
    _train(tmp_path, "--episodes", "3", "--save-every", "2")
    _train(tmp_path, "--resume", "--episodes", "6", "--save-every", "2")
    run = only_run(tmp_path / "checkpoints").name

    assert _csv(tmp_path, run) == _csv(reference, ref_run)
    latest = tmp_path / "checkpoints" / run / "latest.pth"
    ref_latest = reference / "checkpoints" / ref_run / "latest.pth"
    _same_model_state(latest, ref_latest)
    buffer, ref_buffer = _buffer(latest), _buffer(ref_latest)
    assert (buffer.pos, buffer.full) == (ref_buffer.pos, ref_buffer.full) == (300, False)
    for name in FIELDS:
        assert np.array_equal(getattr(buffer, name), getattr(ref_buffer, name)), name


def test_a_fork_from_an_older_checkpoint_continues_like_the_original(uninterrupted) -> None:
    reference, ref_run = uninterrupted
    parent = reference / "checkpoints" / ref_run / "ckpt_ep_2.pth"

    _train(reference, "--resume-ckpt", str(parent), "--episodes", "6", "--save-every", "2")

    forks = [p for p in (reference / "checkpoints").iterdir() if p.name != ref_run]
    assert len(forks) == 1
    fork = forks[0]
    try:
        assert _csv(reference, fork.name) == _csv(reference, ref_run)
        _same_model_state(fork / "latest.pth", reference / "checkpoints" / ref_run / "latest.pth")
        assert not (fork / "replay" / "seg_000000000000-000000000050.npz").exists(), (
            "the fork reads its parent's transitions in place instead of copying them"
        )
        parent_id = load(reference / "checkpoints" / ref_run / "latest.pth")["metadata"]["run_id"]
        fork_id = load(fork / "latest.pth")["metadata"]["run_id"]
        assert fork_id != parent_id
        assert load(fork / "latest.pth")["replay"]["lineage"] == [
            {"run": ref_run, "run_id": parent_id, "start": 0, "stop": 100},
            {"run": fork.name, "run_id": fork_id, "start": 100, "stop": 300},
        ]
    finally:
        shutil.rmtree(fork)
        shutil.rmtree(reference / "runs" / fork.name)


@pytest.mark.parametrize("name", ["ckpt_ep_2.pth", "ckpt_ep_4.pth", "best.pth"])
def test_each_checkpoint_restores_exactly_its_own_buffer(uninterrupted, name: str) -> None:
    reference, ref_run = uninterrupted
    folder = reference / "checkpoints" / ref_run
    final = _buffer(folder / "latest.pth")

    buffer = _buffer(folder / name)

    count = load(folder / name)["global_step"]
    assert buffer.pos == count and not buffer.full
    for field in FIELDS:
        values = getattr(buffer, field)
        assert np.array_equal(values[:count], getattr(final, field)[:count]), field
        assert not values[count:].any(), f"{field} has transitions from after the checkpoint"


@pytest.mark.slow
def test_kill_9_mid_episode_then_resume_matches_the_uninterrupted_run(
    uninterrupted, tmp_path: Path
) -> None:
    reference, ref_run = uninterrupted
    command = [
        sys.executable, "-m", "robot6_sb3", "train", *TINY, "--episodes", "6", "--save-every", "2",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("checkpoints/*/latest.pth")):
        assert process.poll() is None and time.monotonic() < deadline, "training never saved"
        time.sleep(0.01)
    time.sleep(random.Random(7).uniform(0.05, 0.4))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    run = only_run(tmp_path / "checkpoints")
    killed_at = load(run / "latest.pth")["episode"]
    assert killed_at < 6, "the kill landed after training finished; nothing was tested"

    _train(tmp_path, "--resume", "--episodes", "6", "--save-every", "2")

    assert _csv(tmp_path, run.name) == _csv(reference, ref_run)
    _same_model_state(run / "latest.pth", reference / "checkpoints" / ref_run / "latest.pth")
    assert not list(run.glob(".tmp-*")), "a temp file survived the resume"


def test_no_buffer_resumes_but_says_it_is_not_exact(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--no-buffer", *TINY)
    run = only_run(workdir / "checkpoints")
    assert not (run / "replay").exists()
    assert load(run / "latest.pth")["replay"] is None

    listing = robot6("list-checkpoints")
    result = robot6("train", "--resume", "--episodes", "3", "--no-buffer", *TINY)

    assert "no: trained without the replay log" in listing.stdout
    assert result.exit_code == 0, result.output
    assert "no longer an exact continuation" in result.stdout
    assert load(run / "latest.pth")["episode"] == 3


@pytest.mark.parametrize(
    ("algo", "n_envs", "vec_env"),
    [("td3", 2, "subproc"), ("crossq", 3, "dummy"), ("ddpg", 1, "dummy")],
)
def test_other_algorithms_and_vector_envs_resume_exactly_from_the_command_line(
    tmp_path: Path, algo: str, n_envs: int, vec_env: str
) -> None:
    options = ("--algo", algo, "--n-envs", str(n_envs), "--vec-env", vec_env)
    episodes = 2 * n_envs if n_envs > 1 else 4
    _train(tmp_path / "whole", *options, "--episodes", str(episodes))
    _train(tmp_path / "split", *options, "--episodes", str(episodes // 2))
    _train(tmp_path / "split", "--resume", "--episodes", str(episodes))

    whole = only_run(tmp_path / "whole" / "checkpoints")
    split = only_run(tmp_path / "split" / "checkpoints")
    assert _csv(tmp_path / "split", split.name) == _csv(tmp_path / "whole", whole.name)
    assert_same_tensors(load(split / "latest.pth")["model"], load(whole / "latest.pth")["model"])
    metadata = load(split / "latest.pth")["metadata"]
    assert (metadata["algo"], metadata["n_envs"], metadata["vec_env"]) == (algo, n_envs, vec_env)
