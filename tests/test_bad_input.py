"""Bad input, on every command: a clear one-paragraph message on stderr, exit 2, no traceback,
and nothing created or changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from robot6_sb3.cli import app
from tests.helpers import TINY, load, only_run, tree_bytes

LATEST = "{latest}"
"""Stands for the project's one run's latest.pth."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one finished two-episode run and a few hostile files beside it."""
    root = tmp_path_factory.mktemp("project")
    result = CliRunner().invoke(
        app,
        ["train", "--episodes", "2", *TINY, "--checkpoints-dir", str(root / "checkpoints"),
         "--runs-dir", str(root / "runs")],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    latest = only_run(root / "checkpoints") / "latest.pth"
    (root / "empty.pth").write_bytes(b"")
    (root / "text.pth").write_text("episode,global_step\n0,50\n")
    (root / "a-file").write_text("not a folder")
    (root / "a-folder.pth").mkdir()
    shutil.copy(latest, root / "lone.pth")
    for name, kwargs in (("joints", {"control": "joints"}), ("sparse", {"reward_type": "sparse"})):
        checkpoint = load(latest)
        checkpoint["metadata"]["env_kwargs"] = kwargs
        torch.save(checkpoint, root / "checkpoints" / f"{name}.pth")  # beside the run: replay found
    damage = {
        "rng": lambda c: c["rng_state"]["python"].__setitem__(1, torch.zeros(3, dtype=torch.int64)),
        "counters": lambda c: c["training_state"].__setitem__("num_timesteps", "x"),
        "last-obs": lambda c: c["training_state"].__setitem__("last_obs", torch.zeros(2, 2)),
        "noise": lambda c: c["training_state"].__setitem__("action_noise", {"kind": "ou"}),
        "lineage": lambda c: c["replay"]["lineage"].append({"run": "../x", "start": 0, "stop": 1}),
        "wall-time": lambda c: c.__setitem__("wall_time_s", "long"),
    }
    for name, spoil in damage.items():
        checkpoint = load(latest)
        spoil(checkpoint)
        torch.save(checkpoint, root / "checkpoints" / f"{name}.pth")
    return root


BAD_INPUTS = {
    "episodes-0": (["train", "--episodes", "0"], "--episodes must be at least 1, got 0"),
    "save-every-0": (["train", "--save-every", "0"], "--save-every must be at least 1"),
    "keep-last-0": (["train", "--keep-last", "0"], "--keep-last must be at least 1"),
    "threads-0": (["train", "--threads", "0"], "--threads must be at least 1"),
    "n-envs-0": (["train", "--n-envs", "0"], "--n-envs must be at least 1"),
    "engine-unknown": (["train", "--engine", "turbo"], "--engine must be one of fast, sb3"),
    "engine-fast-td3": (
        ["train", "--algo", "td3", "--engine", "fast"],
        "--engine fast computes sac and tqc, not td3; use sb3 for td3",
    ),
    "seed-negative": (["train", "--seed", "-1"], "--seed must be between 0 and 4294967295"),
    "seed-2**32": (["train", "--seed", "4294967296"], "--seed must be between 0 and 4294967295"),
    "tau-1.5": (["train", "--tau", "1.5"], "--tau must be at most 1, got 1.5"),
    "gamma-1.5": (["train", "--gamma", "1.5"], "--gamma must be at most 1, got 1.5"),
    "gamma-0": (["train", "--gamma", "0"], "--gamma must be a positive number"),
    "learning-rate-nan": (
        ["train", "--learning-rate", "nan"],
        "--learning-rate must be a positive",
    ),
    "batch-size-0": (["train", "--batch-size", "0"], "--batch-size must be at least 1"),
    "learning-starts-negative": (
        ["train", "--learning-starts", "-1"],
        "--learning-starts must be at least 0, got -1",
    ),
    "ent-coef-word": (
        ["train", "--ent-coef", "high"],
        "--ent-coef takes auto, auto_<start> or a number, got 'high'",
    ),
    "action-noise-negative": (
        ["train", "--action-noise", "-1"],
        "--action-noise must be at least 0, got -1",
    ),
    "her-goals-negative": (
        ["train", "--her-goals", "-1"],
        "--her-goals must be at least 0, got -1",
    ),
    "net-arch-word": (
        ["train", "--net-arch", "big"],
        "--net-arch takes comma-separated layer sizes",
    ),
    "net-arch-0": (["train", "--net-arch", "0"], "--net-arch needs positive layer sizes"),
    "unknown-algo": (
        ["train", "--algo", "ppo"],
        "--algo must be one of sac, tqc, td3, ddpg, crossq, got 'ppo'",
    ),
    "unknown-env": (
        ["train", "--env", "Nope-v9"],
        "--env 'Nope-v9' is unknown; choose one of: Robot6Reach-v0",
    ),
    "unknown-vec-env": (
        ["train", "--vec-env", "threads"],
        "--vec-env must be one of dummy, subproc, got 'threads'",
    ),
    "unknown-device": (["train", "--device", "tpu"], "--device must be one of auto, cpu, cuda"),
    "her-warm-up": (
        ["train", "--env", "Robot6ReachGoal-v0", "--learning-starts", "30"],
        "--learning-starts 30 is too short for HER",
    ),
    "checkpoints-dir-is-a-file": (["train", "--checkpoints-dir", "a-file"], "is a file"),
    "runs-dir-is-a-file": (["train", "--runs-dir", "a-file"], "is a file"),
    "resume-missing": (["train", "--resume-ckpt", "missing.pth"], "missing.pth does not exist"),
    "resume-empty": (["train", "--resume-ckpt", "empty.pth"], "is empty (0 bytes)"),
    "resume-text": (["train", "--resume-ckpt", "text.pth"], "is a text file, not a checkpoint"),
    "resume-folder": (["train", "--resume-ckpt", "a-folder.pth"], "is not a file"),
    "resume-other-algo": (["train", "--resume", "--algo", "tqc"], "algo: checkpoint has sac"),
    "resume-other-net": (
        ["train", "--resume", "--net-arch", "64,64"],
        "net_arch: checkpoint has 32,32",
    ),
    "resume-other-n-envs": (["train", "--resume", "--n-envs", "2"], "n_envs: checkpoint has 1"),
    "resume-env-kwargs-other-dims": (
        ["train", "--resume-ckpt", "checkpoints/joints.pth", "--episodes", "3"],
        "act_dim: checkpoint was made for 3, this env has 6",
    ),
    "resume-env-kwargs-other-state": (
        ["train", "--resume-ckpt", "checkpoints/sparse.pth", "--episodes", "3"],
        "refused the checkpoint's env state",
    ),
    "resume-damaged-rng": (
        ["train", "--resume-ckpt", "checkpoints/rng.pth"],
        "'rng_state' is damaged (ValueError: state vector is the wrong size)",
    ),
    "resume-damaged-counters": (
        ["train", "--resume-ckpt", "checkpoints/counters.pth"],
        "training state is damaged (ValueError: invalid literal for int()",
    ),
    "resume-damaged-last-obs": (
        ["train", "--resume-ckpt", "checkpoints/last-obs.pth"],
        "last observation has shape (2, 2), this model's envs need (1, 21)",
    ),
    "resume-damaged-noise": (
        ["train", "--resume-ckpt", "checkpoints/noise.pth"],
        "action noise is damaged (a dict, not one list per env)",
    ),
    "resume-damaged-lineage": (
        ["train", "--resume-ckpt", "checkpoints/lineage.pth"],
        "lineage entry dict: 'run' must be a run folder's name",
    ),
    "inspect-damaged-wall-time": (
        ["inspect", "checkpoints/wall-time.pth"],
        "'wall_time_s' must be a number, got str 'long'",
    ),
    "resume-lone-copy": (
        ["train", "--resume-ckpt", "lone.pth", "--episodes", "3"],
        "lacks rows 0..100",
    ),
    "eval-episodes-0": (["eval", LATEST, "--episodes", "0"], "--episodes must be at least 1"),
    "eval-video-suffix": (
        ["eval", LATEST, "--video", "arm.avi"],
        "--video arm.avi must end with .gif",
    ),
    "eval-video-episodes-0": (
        ["eval", LATEST, "--video", "arm.gif", "--video-episodes", "0"],
        "--video-episodes must be at least 1",
    ),
    "eval-missing": (["eval", "missing.pth"], "missing.pth does not exist"),
    "eval-device": (["eval", LATEST, "--device", "tpu"], "--device must be one of"),
    "export-missing": (["export", "missing.pth", "out.zip"], "missing.pth does not exist"),
    "export-suffix": (["export", LATEST, "out.txt"], "must end with .zip"),
    "export-no-folder": (["export", LATEST, "nowhere/out.zip"], "nowhere does not exist"),
    "inspect-missing": (["inspect", "missing.pth"], "missing.pth does not exist"),
    "inspect-text": (["inspect", "text.pth"], "is a text file"),
    "compare-smooth-0": (["compare", "--smooth", "0"], "--smooth must be at least 1"),
    "compare-plot-size": (["compare", "--plot-size", "big"], "--plot-size"),
    "compare-plot-suffix": (["compare", "--plot", "curves.jpg"], "must end with .png"),
    "compare-unknown-run": (["compare", "sac_19990101-000000"], "sac_19990101-000000"),
    "prune-keep-0": (["prune", "--keep-runs", "0"], "--keep-runs must be at least 1"),
    "list-dir-is-a-file": (["list-checkpoints", "--checkpoints-dir", "a-file"], "is a file"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_exits_2_changes_nothing_and_says_what_is_wrong(
    name: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "project"
    shutil.copytree(project, workdir)
    monkeypatch.chdir(workdir)
    args, phrase = BAD_INPUTS[name]
    latest = str(only_run(workdir / "checkpoints") / "latest.pth")
    args = [latest if arg == LATEST else arg for arg in args]
    before = tree_bytes(workdir)

    # The bad value comes last, so that it wins over TINY's own.
    command = ["train", *TINY, *args[1:]] if args[0] == "train" else args
    result = CliRunner().invoke(app, command)

    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert ("Traceback" not in output and result.exception is None) or isinstance(
        result.exception, SystemExit
    ), output
    assert phrase in " ".join(output.split()), output
    assert tree_bytes(workdir) == before, "nothing created or changed"


def test_a_message_is_one_paragraph_on_stderr(robot6, workdir: Path) -> None:
    result = robot6("train", *TINY, "--episodes", "0")

    assert result.stderr.startswith("error: ")
    assert result.stderr.strip().count("\n") == 0


def test_user_values_print_as_they_are_and_huge_ones_are_cut(robot6, workdir: Path) -> None:
    markup = robot6("train", *TINY, "--algo", "[/x][bold]")
    huge = robot6("train", *TINY, "--env", "x" * 100_000)

    assert (
        markup.exit_code == 2
        and "--algo must be one of sac, tqc, td3, ddpg, crossq, got '[/x][bold]'" in markup.stderr
    )
    assert huge.exit_code == 2 and len(huge.stderr) < 2_000
    assert "characters)..." in huge.stderr


def test_cuda_without_a_gpu_is_refused(robot6, workdir: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")

    result = robot6("train", *TINY, "--device", "cuda")

    assert (
        result.exit_code == 2
        and "--device cuda" in result.stderr
        and "no CUDA GPU" in result.stderr
    )
    assert not (workdir / "checkpoints").exists()
