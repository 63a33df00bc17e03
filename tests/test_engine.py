"""The fast engine (``robot6_sb3.engine``): the same update as SB3's on a fixed batch and fixed
noise, reproducible runs, checkpoints that load into either engine, exports SB3 loads, and
SB3's own update wherever the engine does not compute a model."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sb3_contrib import TQC
from sb3_contrib.common.utils import quantile_huber_loss
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import configure

import tests.point_env  # noqa: F401  (registers the point envs)
from robot6_sb3 import ResumableCheckpointCallback, load_resumable
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.engine import FastSAC, FastTQC, describe_engine
from robot6_sb3.engine.adam import FlatAdam
from robot6_sb3.engine.quantile_loss import SortedQuantileHuberLoss
from robot6_sb3.engine.sampling import ReplaySampler
from robot6_sb3.errors import EngineChangedWarning, UsageError
from robot6_sb3.export import export_sb3, max_prediction_difference
from robot6_sb3.layout import MODEL
from tests.helpers import assert_same_tensors

BATCH = 32
SETTINGS = {"learning_starts": 30, "batch_size": BATCH, "buffer_size": 1000, "seed": 3}


def _env(n_envs: int = 1) -> Any:
    return make_vec_env("tests.point_env:PointReach-v0", n_envs=n_envs, seed=7)


def _model(cls: type, env: Any = None, **kwargs: Any) -> Any:
    policy_kwargs = {"net_arch": [16, 16], **kwargs.pop("policy_kwargs", {})}
    settings = {**SETTINGS, **kwargs, "policy_kwargs": policy_kwargs}
    return cls("MlpPolicy", env if env is not None else _env(), **settings)


def _one_update(
    model: Any, batch: Any, spy: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, float], dict[str, Any]]:
    """Train ``model`` one gradient step on ``batch`` with the noise of seed 11; returns the
    logged losses and the gradients each optimizer stepped with."""
    monkeypatch.setattr(model.replay_buffer, "sample", lambda *args, **kwargs: batch)
    monkeypatch.setattr(ReplaySampler, "sample", lambda *args, **kwargs: batch)
    model.set_logger(configure(None, []))
    grads = spy(model)
    torch.manual_seed(11)
    model.train(gradient_steps=1, batch_size=BATCH)
    logged = {
        key: value
        for key, value in model.logger.name_to_value.items()
        if key.startswith("train/") and key not in ("train/n_updates", "train/learning_rate")
    }
    return logged, grads


def _optimizers(model: Any) -> dict[str, Any]:
    optimizers = {"actor": model.actor.optimizer, "critic": model.critic.optimizer}
    if model.ent_coef_optimizer is not None:
        optimizers["ent_coef"] = model.ent_coef_optimizer
    return optimizers


def _sb3_grads(model: Any) -> dict[str, Any]:
    grads: dict[str, Any] = {}

    def record(name: str) -> Any:
        def hook(optimizer: Any, *_: Any) -> None:
            grads[name] = [p.grad.clone() for p in optimizer.param_groups[0]["params"]]

        return hook

    for name, optimizer in _optimizers(model).items():
        optimizer.register_step_pre_hook(record(name))
    return grads


@pytest.fixture
def fast_grads(monkeypatch: pytest.MonkeyPatch) -> Any:
    def spy(model: Any) -> dict[str, Any]:
        grads: dict[str, Any] = {}
        names = {id(optimizer): name for name, optimizer in _optimizers(model).items()}
        step = FlatAdam.step

        def recording(self: FlatAdam, step_grads: Any) -> None:
            grads[names[id(self.optimizer)]] = [grad.clone() for grad in step_grads]
            step(self, step_grads)

        monkeypatch.setattr(FlatAdam, "step", recording)
        return grads

    return spy


EQUIVALENT = {
    "sac-learned-entropy": (SAC, FastSAC, {"ent_coef": "auto_0.5"}),
    "sac-fixed-entropy-3-critics": (
        SAC,
        FastSAC,
        {"ent_coef": 0.1, "policy_kwargs": {"n_critics": 3}},
    ),
    "tqc-2-critics": (TQC, FastTQC, {"ent_coef": "auto_0.5"}),
    "tqc-3-critics-10-quantiles": (
        TQC,
        FastTQC,
        {"ent_coef": "auto_0.5", "policy_kwargs": {"n_critics": 3, "n_quantiles": 10}},
    ),
}


@pytest.mark.parametrize("name", list(EQUIVALENT))
def test_losses_and_gradients_equal_sb3s_on_a_fixed_batch(
    name: str, fast_grads: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb3_class, fast_class, kwargs = EQUIVALENT[name]
    reference = _model(sb3_class, learning_starts=1000, **kwargs)
    reference.learn(200)  # random actions: fills the buffer, no update
    fast = _model(fast_class, learning_starts=1000, **kwargs)
    fast.policy.load_state_dict(reference.policy.state_dict())
    if reference.log_ent_coef is not None:
        fast.log_ent_coef.data.copy_(reference.log_ent_coef.data)
    batch = reference.replay_buffer.sample(BATCH)
    assert describe_engine(fast) == "fast (eager)"

    expected_losses, expected_grads = _one_update(reference, batch, _sb3_grads, monkeypatch)
    losses, grads = _one_update(fast, batch, fast_grads, monkeypatch)

    assert losses.keys() == expected_losses.keys()
    assert len(expected_losses) == (4 if kwargs["ent_coef"] != 0.1 else 3)
    for key, value in expected_losses.items():
        assert losses[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key
    # Entropy coefficient, critics, actor: every parameter's gradient.
    assert grads.keys() == expected_grads.keys() == _optimizers(fast).keys()
    for name, expected in expected_grads.items():
        assert len(grads[name]) == len(expected), name
        for got_grad, expected_grad in zip(grads[name], expected, strict=True):
            torch.testing.assert_close(got_grad, expected_grad, rtol=1e-4, atol=1e-6)
    for got_param, expected_param in zip(
        fast.policy.parameters(), reference.policy.parameters(), strict=True
    ):
        torch.testing.assert_close(got_param, expected_param, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("critics", "quantiles", "dropped", "scale"),
    [(2, 25, 2, 3.0), (3, 10, 2, 0.3), (5, 4, 0, 100.0), (1, 3, 1, 1e-3)],
)
def test_the_sorted_quantile_loss_is_sb3_contribs(
    critics: int, quantiles: int, dropped: int, scale: float
) -> None:
    generator = torch.Generator().manual_seed(critics)
    batch = 64
    current = torch.randn(batch, critics, quantiles, generator=generator) * scale - 10
    current[0, 0, 0] = current[0, 0, 1]  # ties among quantiles and with targets
    targets = torch.randn(batch, critics * quantiles, generator=generator) * scale - 10
    targets[0, :3] = current[0, 0, 0]
    target = torch.sort(targets, dim=1).values[:, : (quantiles - dropped) * critics]
    current.requires_grad_(True)
    expected = quantile_huber_loss(current, target.unsqueeze(1), sum_over_quantiles=False)
    (expected_grad,) = torch.autograd.grad(expected, current)

    flat = current.detach().reshape(batch, -1).requires_grad_(True)
    cum_prob = (torch.arange(quantiles, dtype=torch.float) + 0.5) / quantiles
    loss = SortedQuantileHuberLoss.apply(flat, target, cum_prob)
    (grad,) = torch.autograd.grad(loss, flat)

    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(grad.reshape(current.shape), expected_grad, rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("n_envs", [1, 3])
def test_the_sampler_draws_sb3s_batches(n_envs: int) -> None:
    model = _model(SAC, _env(n_envs), learning_starts=10_000, buffer_size=90)
    model.learn(200)  # the buffer wraps around
    sampler = ReplaySampler(model.replay_buffer)
    assert ReplaySampler.supports(model.replay_buffer)
    for _ in range(3):
        state = np.random.get_state()
        expected = model.replay_buffer.sample(BATCH)
        after = np.random.get_state()
        np.random.set_state(state)
        batch = sampler.sample(BATCH)
        for got, want in zip(batch, expected, strict=True):
            assert (got is None and want is None) or torch.equal(got, want)
        assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), after, strict=True))


def _run(cls: type, folder: Path, steps: int, **kwargs: Any) -> Any:
    model = _model(cls, **kwargs)
    model.learn(steps, callback=ResumableCheckpointCallback(folder, verbose=0))
    return model


@pytest.mark.parametrize("cls", [FastSAC, FastTQC])
def test_a_run_is_bitwise_reproducible(cls: type, tmp_path: Path) -> None:
    first = load_checkpoint(_run(cls, tmp_path / "a", 120) and tmp_path / "a" / "latest.pth")
    second = load_checkpoint(_run(cls, tmp_path / "b", 120) and tmp_path / "b" / "latest.pth")
    assert first["metadata"]["engine"] == "fast"
    assert_same_tensors(first[MODEL], second[MODEL])


def _layout(state: Any) -> Any:
    """An optimizer state dict with every tensor replaced by its shape and dtype."""
    if isinstance(state, torch.Tensor):
        return (tuple(state.shape), state.dtype, state.device.type)
    if isinstance(state, dict):
        return {key: _layout(value) for key, value in state.items()}
    if isinstance(state, list):
        return [_layout(value) for value in state]
    return state


@pytest.mark.parametrize(("made_by", "resumed_by"), [("fast", "sb3"), ("sb3", "fast")])
def test_a_checkpoint_of_either_engine_resumes_with_either(
    made_by: str, resumed_by: str, tmp_path: Path
) -> None:
    classes = {"fast": FastSAC, "sb3": SAC}
    made = _run(classes[made_by], tmp_path / "run", 60)
    other = _run(classes[resumed_by], tmp_path / "other", 60)
    for name in ("actor.optimizer", "critic.optimizer", "ent_coef_optimizer"):
        saved = made.get_parameters()[name]
        # Same layout whoever trained, with SB3's flags: nothing switches fused on for SB3.
        assert _layout(saved) == _layout(other.get_parameters()[name]), name
        assert saved["param_groups"][0]["fused"] is None
        assert saved["param_groups"][0]["foreach"] is None

    same, _ = load_resumable(tmp_path / "run" / "latest.pth", _env(), verbose=0)
    assert type(same) is classes[made_by], "the checkpoint's own engine by default"
    with pytest.warns(EngineChangedWarning, match=f"engine changed from {made_by} to {resumed_by}"):
        model, callback = load_resumable(
            tmp_path / "run" / "latest.pth", _env(), engine=resumed_by, verbose=0
        )
    assert type(model) is classes[resumed_by]
    assert_same_tensors(model.get_parameters(), made.get_parameters())
    model.learn(60, callback=callback, reset_num_timesteps=False)
    checkpoint = load_checkpoint(tmp_path / "run" / "latest.pth")
    assert checkpoint["metadata"]["engine"] == resumed_by and checkpoint["global_step"] == 120


def test_the_fast_engine_is_refused_for_algorithms_it_does_not_compute(tmp_path: Path) -> None:
    from stable_baselines3 import TD3

    _run(TD3, tmp_path / "td3", 40)
    with pytest.raises(UsageError, match="fast computes sac and tqc, not td3"):
        load_resumable(tmp_path / "td3" / "latest.pth", _env(), engine="fast")


def test_an_export_of_a_fast_checkpoint_loads_with_sb3_and_predicts_the_same(
    tmp_path: Path,
) -> None:
    fast = _run(FastTQC, tmp_path / "run", 80)
    exported = export_sb3(tmp_path / "run" / "latest.pth", tmp_path / "model.zip")
    assert type(exported) is TQC
    assert max_prediction_difference(fast, tmp_path / "model.zip") == 0.0

    fast.save(tmp_path / "saved.zip")  # SB3's own save of a fast model
    loaded = TQC.load(tmp_path / "saved.zip", env=_env())
    observations = np.stack([fast.observation_space.sample() for _ in range(20)])
    assert np.array_equal(
        fast.predict(observations, deterministic=True)[0],
        loaded.predict(observations, deterministic=True)[0],
    )
    # SB3's own update trains on from it: each parameter's Adam step counts once per update.
    saved_steps = {p: state["step"].item() for p, state in loaded.critic.optimizer.state.items()}
    loaded.learn(20, reset_num_timesteps=False)
    for param, state in loaded.critic.optimizer.state.items():
        assert state["step"].item() == saved_steps[param] + 20
    reloaded = FastTQC.load(tmp_path / "saved.zip", env=_env())
    reloaded.learn(40)
    assert describe_engine(reloaded) == "fast (eager)"


def test_what_the_engine_does_not_compute_keeps_sb3s_update() -> None:
    model = _model(FastSAC, policy_kwargs={"optimizer_class": torch.optim.AdamW})
    assert describe_engine(model) == (
        "sb3 (the fast engine does not support critic.optimizer is AdamW, not Adam)"
    )
    model.learn(60)
    assert model.logger.name_to_value["train/n_updates"] == 30
    assert describe_engine(_model(SAC)) == "sb3"


def test_the_mode_is_switched_only_when_it_changes() -> None:
    model = _model(FastSAC)
    policy = model.policy
    policy.set_training_mode(True)
    assert policy.training and model.actor.training and model.critic.qf0.training
    policy.set_training_mode(False)
    assert not (policy.training or model.actor.training or model.critic.qf0.training)
    twin = copy.deepcopy(policy)
    twin.set_training_mode(True)
    assert twin.actor.training and not model.actor.training, "a copy switches itself"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.learn(40)
    assert not model.actor.training, "SB3 rolls out in evaluation mode"


@pytest.mark.parametrize("deterministic", [True, False])
def test_predict_gives_sb3s_actions_bit_for_bit(deterministic: bool) -> None:
    env = _env(n_envs=2)
    reference = _model(SAC, env, learning_starts=20)
    reference.learn(60)
    fast = _model(FastSAC, env)
    fast.policy.load_state_dict(reference.policy.state_dict())
    observations = env.reset()
    for observation in (observations, observations[0]):  # a batch, and one observation
        torch.manual_seed(5)
        expected, _ = reference.predict(observation, deterministic=deterministic)
        torch.manual_seed(5)
        actions, _ = fast.predict(observation, deterministic=deterministic)
        assert actions.shape == expected.shape and np.array_equal(actions, expected)
