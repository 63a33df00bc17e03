"""``robot6 train``: the files a run writes, their content, and the messages."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.layout import REQUIRED_KEYS, STATE_DICT_KEYS
from robot6_sb3.planning import plan_training
from robot6_sb3.trainer import run_training
from robot6_sb3.training_config import TrainConfig
from tests.helpers import TINY, load, only_run


def test_new_run_writes_the_documented_layout(robot6, workdir: Path) -> None:
    result = robot6("train", "--episodes", "3", "--save-every", "2", *TINY)

    assert result.exit_code == 0, result.output
    run = only_run(workdir / "checkpoints")
    assert run.name.startswith("sac_") and len(run.name) == len("sac_20251201-135028")
    assert sorted(p.name for p in run.iterdir() if p.is_file()) == [
        ".lock",
        "best.pth",
        "ckpt_ep_2.pth",
        "latest.pth",
        "run.json",
    ]
    logs = workdir / "runs" / run.name
    assert (logs / "training.csv").exists() and (logs / "run.json").exists()
    assert [p.name for p in logs.iterdir() if p.name.startswith("events.out.tfevents.")]
    assert not [p for p in logs.iterdir() if p.is_dir()], "no SAC_1 style subfolder"
    assert f"Done: run {run.name}: 3 episodes, global_step 150" in result.stdout


def test_csv_has_one_row_per_episode(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", *TINY)

    run = only_run(workdir / "runs")
    with open(run / "training.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["episode", "global_step", "episode_reward"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("0", "50"), ("1", "100"), ("2", "150")]
    assert all(float(r[2]) < 0 for r in rows[1:]), "dense reward is a negative distance"
    assert [r[3] for r in rows[1:]] == ["50", "50", "50"]


def test_checkpoints_hold_the_twelve_keys_of_the_trained_model(workdir: Path) -> None:
    config = TrainConfig.from_options(episodes=3, save_every=2, seed=3, **_tiny_overrides())
    result = run_training(plan_training(config))
    model = result.model

    latest = load(result.paths.latest)
    for key in REQUIRED_KEYS:
        assert key in latest
    for key in STATE_DICT_KEYS:
        assert isinstance(latest[key], dict)
    assert isinstance(latest["global_step"], int) and latest["global_step"] == 150
    assert isinstance(latest["episode"], int) and latest["episode"] == 3
    assert isinstance(latest["best_reward"], float) and math.isfinite(latest["best_reward"])
    critics = {
        "q1": model.critic.qf0,
        "q2": model.critic.qf1,
        "q1_target": model.critic_target.qf0,
        "q2_target": model.critic_target.qf1,
        "policy": model.actor,
    }
    for key, module in critics.items():
        for name, tensor in module.state_dict().items():
            assert torch.equal(latest[key][name], tensor), f"{key}.{name}"
    assert torch.equal(latest["log_alpha"], model.log_ent_coef.detach())
    assert (
        latest["policy_opt"]["state"][0]["step"]
        == model.actor.optimizer.state_dict()["state"][0]["step"]
    )
    periodic = load(result.paths.periodic(2))
    assert periodic["episode"] == 2 and periodic["global_step"] == 100
    assert latest["metadata"]["model_kwargs"]["policy_kwargs"]["net_arch"] == [32, 32]


def test_best_is_the_checkpoint_of_the_best_episode(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "4", *TINY)

    run = only_run(workdir / "checkpoints")
    with open(workdir / "runs" / run.name / "training.csv", newline="") as handle:
        rewards = [float(row["episode_reward"]) for row in csv.DictReader(handle)]
    best = load(run / "best.pth")
    best_episode = rewards.index(max(rewards))
    assert best["best_reward"] == max(rewards)
    assert best["episode"] == best_episode + 1
    assert load(run / "latest.pth")["best_reward"] == max(rewards)


def test_tqc_run_writes_the_same_layout_and_resumes(robot6, workdir: Path) -> None:
    assert robot6("train", "--algo", "tqc", "--episodes", "2", *TINY).exit_code == 0
    run = only_run(workdir / "checkpoints")
    assert run.name.startswith("tqc_")
    first = load(run / "latest.pth")
    assert first["metadata"]["algo"] == "tqc"

    result = robot6("train", "--resume", "--episodes", "3", *TINY)

    assert result.exit_code == 0, result.output
    assert only_run(workdir / "checkpoints") == run
    assert load(run / "latest.pth")["episode"] == 3


def _tiny_overrides() -> dict:
    return {"net_arch": (32, 32), "batch_size": 32, "learning_starts": 60, "buffer_size": 10000}


@pytest.mark.parametrize("option", ["--help"])
def test_help_lists_the_options(robot6, option: str) -> None:
    result = robot6("train", option)
    for name in (
        "--episodes",
        "--resume",
        "--resume-ckpt",
        "--save-every",
        "--net-arch",
        "--no-buffer",
    ):
        assert name in result.stdout


def test_option_help_comes_from_the_config_fields(robot6) -> None:
    from robot6_sb3.hyperparameters import Hyperparameters
    from robot6_sb3.run_settings import RunSettings

    help_text = " ".join(robot6("train", "--help").stdout.split())

    assert f"--gamma <float> Discount factor. Default: {Hyperparameters.gamma}." in help_text
    assert f"Default: {RunSettings.save_every}. A resumed run keeps its own" in help_text
    assert "--net-arch <str> Hidden layer sizes" in help_text
    assert ",".join(map(str, Hyperparameters.net_arch)) in help_text


def test_diverging_training_stops_with_exit_3_and_keeps_the_last_finite_checkpoint(
    robot6, workdir: Path
) -> None:
    result = robot6("train", *TINY, "--episodes", "8", "--learning-rate", "1e12")

    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert "training diverged at global_step" in result.stderr
    run = only_run(workdir / "checkpoints")
    latest = load_checkpoint(run / "latest.pth")  # validation refuses any non-finite tensor
    rows = (workdir / "runs" / run.name / "training.csv").read_text().splitlines()[1:]
    assert len(rows) == latest["episode"] >= 1
    assert f"last good checkpoint, checkpoints/{run.name}/latest.pth, is intact" in result.stderr
    assert "--learning-rate 0.001" in result.stdout


def test_a_header_comes_first_and_the_summary_names_the_next_commands(
    robot6, workdir: Path
) -> None:
    result = robot6("train", "--episodes", "2", *TINY)

    assert result.exit_code == 0, result.output
    run = only_run(workdir / "checkpoints").name
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"Run {run} (new run): SAC on Robot6Reach-v0, 1 env (dummy), seed 3, cpu"
    )
    assert lines[1].strip() == f"checkpoints: checkpoints/{run}/  logs: runs/{run}/"
    assert lines[2].strip() == "engine: fast (eager)"
    after = result.stdout.split("Next:\n", 1)[1]
    for command in (
        f"robot6 eval checkpoints/{run}/best.pth",
        "robot6 compare",
        "tensorboard --logdir runs",
        f"robot6 train --resume-ckpt checkpoints/{run}/latest.pth --episodes 4",
    ):
        assert command in after, command

    resumed = robot6("train", "--resume", "--episodes", "3", *TINY)
    assert f"Run {run} (continuing)" in resumed.stdout
    assert "engine: fast (eager)" in resumed.stdout, "a resumed run keeps its engine"
    assert f"from checkpoints/{run}/latest.pth; the continuation is exact" in resumed.stdout
