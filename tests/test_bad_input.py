"""Bad input: a clear one-paragraph message on stderr, exit 2, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import TINY, load, only_run, tree_bytes


def _assert_refused(result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") == 0, "one paragraph"
    for phrase in phrases:
        assert phrase in result.stderr


@pytest.mark.parametrize(
    ("args", "phrases"),
    [
        (["--episodes", "0"], ["--episodes must be at least 1, got 0"]),
        (["--save-every", "0"], ["--save-every must be at least 1, got 0"]),
        (["--env", "Nope-v9"], ["unknown --env 'Nope-v9'", "Robot6Reach-v0"]),
        (["--algo", "ppo"], ["unknown --algo 'ppo'", "sac, tqc"]),
        (["--net-arch", "big"], ["--net-arch takes comma-separated layer sizes"]),
        (["--tau", "1.5"], ["--tau must be at most 1, got 1.5"]),
        (["--seed", "-1"], ["--seed must be between 0 and 4294967295, got -1"]),
        (["--resume-ckpt", "missing.pth"], ["checkpoint missing.pth does not exist"]),
    ],
    ids=[
        "episodes-0",
        "save-every-0",
        "unknown-env",
        "unknown-algo",
        "net-arch",
        "tau-above-1",
        "negative-seed",
        "missing",
    ],
)
def test_bad_options_are_refused_before_anything_is_written(
    robot6, workdir: Path, args: list[str], phrases: list[str]
) -> None:
    result = robot6("train", *TINY, *args)

    _assert_refused(result, *phrases)
    assert not (workdir / "checkpoints").exists() and not (workdir / "runs").exists()


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "is empty (0 bytes)"),
        (b"episode,global_step\n0,50\n", "is a text file, not a checkpoint"),
    ],
    ids=["empty-file", "text-file"],
)
def test_unusable_resume_files_are_refused(
    robot6, workdir: Path, content: bytes, phrase: str
) -> None:
    Path("given.pth").write_bytes(content)

    result = robot6("train", *TINY, "--resume-ckpt", "given.pth")

    _assert_refused(result, "given.pth", phrase)
    assert not (workdir / "checkpoints").exists()


def test_a_checkpoint_for_other_dimensions_is_refused(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "1", *TINY)
    run = only_run(workdir / "checkpoints")
    checkpoint = load(run / "latest.pth")
    checkpoint["metadata"]["obs_dim"] = 24
    torch.save(checkpoint, "other.pth")
    before = tree_bytes(workdir / "checkpoints", workdir / "runs")

    result = robot6("train", *TINY, "--resume-ckpt", "other.pth", "--episodes", "2")

    _assert_refused(result, "obs_dim: checkpoint was made for 24, this env has 21")
    assert tree_bytes(workdir / "checkpoints", workdir / "runs") == before


def test_cuda_without_a_gpu_is_refused(robot6, workdir: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    result = robot6("train", *TINY, "--device", "cuda")

    _assert_refused(result, "--device cuda", "no CUDA GPU")
    assert not (workdir / "checkpoints").exists()
