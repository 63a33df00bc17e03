"""``robot6 export``: an SB3 zip whose policy acts exactly like the checkpoint's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC

from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.resume import model_from_checkpoint
from robot6_sb3.vec_env import make_env
from tests.helpers import TINY, load, only_run


def _observations(count: int = 100) -> np.ndarray:
    """Random observations inside the env's (finite) observation space."""
    env = make_env("Robot6Reach-v0", {})
    space = env.observation_space
    env.close()
    space.seed(123)
    return np.stack([space.sample() for _ in range(count)])


def _checkpoint_actions(checkpoint: dict, observations: np.ndarray) -> np.ndarray:
    """The checkpoint policy's deterministic actions, computed from its tensors alone:
    ReLU MLP, then ``tanh(mu)`` rescaled to the action space Box(-1, 1)."""
    policy = checkpoint["policy"]
    hidden = torch.as_tensor(observations)
    net_arch = checkpoint["metadata"]["model_kwargs"]["policy_kwargs"]["net_arch"]
    for index in range(0, 2 * len(net_arch), 2):
        weight, bias = policy[f"latent_pi.{index}.weight"], policy[f"latent_pi.{index}.bias"]
        hidden = torch.relu(torch.nn.functional.linear(hidden, weight, bias))
    mean = torch.nn.functional.linear(hidden, policy["mu.weight"], policy["mu.bias"])
    scaled = torch.tanh(mean).numpy()
    low, high = np.float32(-1.0), np.float32(1.0)
    return low + (0.5 * (scaled + 1.0) * (high - low))


def test_sac_load_predicts_the_checkpoint_policy_actions(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", *TINY)
    ckpt = only_run(workdir / "checkpoints") / "latest.pth"

    result = robot6("export", str(ckpt), "out.zip")

    assert result.exit_code == 0, result.output
    assert "SAC.load('out.zip')" in result.stdout and "identical to" in result.stdout
    observations = _observations()
    exported = SAC.load(workdir / "out.zip", device="cpu")
    actions, _ = exported.predict(observations, deterministic=True)
    expected = _checkpoint_actions(load(ckpt), observations)
    assert actions.shape == (100, 3)
    assert np.max(np.abs(actions - expected)) == 0.0
    reference, _ = model_from_checkpoint(load_checkpoint(ckpt)).predict(
        observations, deterministic=True
    )
    assert np.array_equal(actions, reference)
    assert torch.equal(exported.log_ent_coef.detach(), load(ckpt)["log_alpha"])
    assert exported.num_timesteps == 150 and exported.buffer_size == 10000


def test_exported_model_trains_on_with_an_env(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    robot6("export", str(only_run(workdir / "checkpoints") / "latest.pth"), "out.zip")

    model = SAC.load(workdir / "out.zip", env=make_env("Robot6Reach-v0", {}), device="cpu")
    model.learn(50, reset_num_timesteps=False)

    assert model.num_timesteps == 150


def test_tqc_checkpoint_exports_for_tqc_load(robot6, workdir: Path) -> None:
    robot6("train", "--algo", "tqc", "--episodes", "2", *TINY)
    ckpt = only_run(workdir / "checkpoints") / "latest.pth"

    result = robot6("export", str(ckpt), "tqc.zip")

    assert result.exit_code == 0, result.output
    assert "TQC.load('tqc.zip')" in result.stdout
    observations = _observations()
    actions, _ = TQC.load(workdir / "tqc.zip", device="cpu").predict(
        observations, deterministic=True
    )
    assert np.max(np.abs(actions - _checkpoint_actions(load(ckpt), observations))) == 0.0


def test_bad_input_exits_2_and_writes_nothing(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    ckpt = str(only_run(workdir / "checkpoints") / "latest.pth")
    (workdir / "notes.txt").write_text("hello")
    (workdir / "folder.zip").mkdir()
    for args, message in (
        (("missing.pth", "out.zip"), "checkpoint missing.pth does not exist"),
        (("notes.txt", "out.zip"), "notes.txt"),
        ((ckpt, "nodir/out.zip"), "nodir does not exist"),
        ((ckpt, "notes.txt/out.zip"), "notes.txt is not a folder"),
        ((ckpt, "out.pth"), "must end with .zip"),
        ((ckpt, "folder.zip"), "folder.zip is a folder"),
    ):
        result = robot6("export", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert not (workdir / "out.zip").exists() and not (workdir / "out.pth").exists()
