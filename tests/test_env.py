"""Tests of ``Robot6Reach-v0`` (``robot6_envs``): API checks, seeding, exact state restore."""

from __future__ import annotations

import contextlib
import importlib
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import robot6_envs
from robot6_envs import ENV_ID, GOAL_ENV_ID, MAX_EPISODE_STEPS, SUCCESS_DISTANCE, Robot6ReachEnv
from robot6_envs.reach_env import STATE_KEYS
from robot6_envs.robot import EE_STEP
from tests.env_helpers import (
    COMBINATION_IDS,
    COMBINATIONS,
    assert_plain,
    assert_set_state_continues,
    random_actions,
)


def _rollout(env: gym.Env, actions: np.ndarray) -> list[tuple[bytes, float, bool, bool, dict]]:
    """Step through ``actions``; the observation is kept as raw bytes for bitwise comparison."""
    steps = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        steps.append((observation.tobytes(), reward, terminated, truncated, info))
    return steps


@pytest.mark.parametrize("env_id", [ENV_ID, GOAL_ENV_ID])
@pytest.mark.parametrize(("control", "reward_type"), COMBINATIONS, ids=COMBINATION_IDS)
def test_passes_gymnasium_and_sb3_env_checkers_without_warnings(
    make_env, env_id: str, control: str, reward_type: str
) -> None:
    env = make_env(env_id, control=control, reward_type=reward_type)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gymnasium_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped)


def test_registration_is_idempotent_with_a_50_step_time_limit() -> None:
    importlib.reload(robot6_envs)
    spec = gym.spec(ENV_ID)
    assert spec.entry_point == "robot6_envs.reach_env:Robot6ReachEnv"
    assert spec.max_episode_steps == MAX_EPISODE_STEPS == 50


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_spaces(make_env, control: str) -> None:
    env = make_env(control=control)
    assert env.action_space == gym.spaces.Box(-1, 1, (3 if control == "ee" else 6,), np.float32)
    space = env.observation_space
    assert space.shape == (21,)
    assert space.dtype == np.float32
    assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    assert env.metadata["render_modes"] == ["human", "rgb_array"]
    assert env.metadata["render_fps"] == 25


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_every_episode_is_truncated_at_exactly_50_steps(make_env, control: str) -> None:
    env = make_env(control=control)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(2):
        for step in range(1, MAX_EPISODE_STEPS + 1):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            assert terminated is False
            assert truncated is (step == MAX_EPISODE_STEPS)
        env.reset()


@pytest.mark.parametrize("reward_type", ["dense", "sparse"])
def test_reward_info_and_observation_agree(make_env, reward_type: str) -> None:
    env = make_env(reward_type=reward_type)
    observation, info = env.reset(seed=1)
    assert type(info["is_success"]) is bool and type(info["distance"]) is float
    for action in random_actions(env, 20):
        observation, reward, _, _, info = env.step(action)
        assert type(reward) is float
        assert type(info["is_success"]) is bool and type(info["distance"]) is float
        ee, target, difference = observation[12:15], observation[15:18], observation[18:21]
        np.testing.assert_allclose(difference, target - ee, atol=1e-6)
        assert info["distance"] == pytest.approx(float(np.linalg.norm(target - ee)), abs=1e-5)
        assert info["is_success"] is (info["distance"] < SUCCESS_DISTANCE)
        if reward_type == "dense":
            assert reward == -info["distance"]
        else:
            assert reward == (0.0 if info["is_success"] else -1.0)


def test_moving_straight_to_the_target_succeeds_and_stays(make_env) -> None:
    env = make_env(control="ee")
    observation, info = env.reset(seed=7)
    assert info["distance"] > 2 * SUCCESS_DISTANCE
    successes = []
    for _ in range(MAX_EPISODE_STEPS):
        action = np.clip(observation[18:21] / EE_STEP, -1, 1)
        observation, reward, _, truncated, info = env.step(action)
        successes.append(info["is_success"])
    assert truncated
    assert all(successes[-20:])
    assert info["distance"] < 0.01
    assert reward == -info["distance"]


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_same_seed_and_actions_give_bitwise_identical_episodes(make_env, control: str) -> None:
    first, second = make_env(control=control), make_env(control=control)
    actions = random_actions(first, MAX_EPISODE_STEPS)
    reset_first, reset_second = first.reset(seed=42), second.reset(seed=42)
    assert reset_first[0].tobytes() == reset_second[0].tobytes()
    assert reset_first[1] == reset_second[1]
    rollout = _rollout(first, actions)
    assert rollout == _rollout(second, actions)
    assert rollout[-1][3] is True


def test_reset_without_seed_continues_the_seeded_sequence(make_env) -> None:
    first, second = make_env(), make_env()
    observations = []
    for env in (first, second):
        seeded, _ = env.reset(seed=3)
        unseeded, _ = env.reset()
        observations.append((seeded.tobytes(), unseeded.tobytes()))
        assert not np.array_equal(seeded[15:18], unseeded[15:18])
    assert observations[0] == observations[1]


def test_different_seeds_give_different_targets(make_env) -> None:
    env = make_env()
    targets = {env.reset(seed=seed)[0][15:18].tobytes() for seed in range(5)}
    assert len(targets) == 5


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_set_state_on_a_fresh_env_continues_bitwise_identically(control: str) -> None:
    source, restored = Robot6ReachEnv(control=control), Robot6ReachEnv(control=control)
    try:
        assert_set_state_continues(source, restored, _rollout, lambda obs: obs.tobytes())
    finally:
        source.close()
        restored.close()


def test_set_state_returns_the_observation_and_velocities_matter() -> None:
    source, restored = Robot6ReachEnv(), Robot6ReachEnv()
    try:
        source.reset(seed=2)
        actions = random_actions(source, 15, seed=8)
        *_, (last_observation, *_rest) = _rollout(source, actions[:10])
        state = source.get_state()
        assert any(v != 0.0 for v in state["joint_velocities"])
        restored.reset()
        assert restored.set_state(state).tobytes() == last_observation
        expected = _rollout(source, actions[10:])
        still = dict(state, joint_velocities=[0.0] * 6)
        restored.set_state(still)
        assert _rollout(restored, actions[10:]) != expected
    finally:
        source.close()
        restored.close()


def test_get_state_holds_only_plain_python_values(make_env) -> None:
    env = make_env(control="joints", reward_type="sparse")
    env.reset(seed=0)
    _rollout(env, random_actions(env, 5))
    state = env.unwrapped.get_state()
    assert tuple(state) == STATE_KEYS
    assert_plain(state)
    assert state["control"] == "joints" and state["reward_type"] == "sparse"
    assert len(state["joint_positions"]) == len(state["joint_velocities"]) == 6
    assert len(state["target"]) == 3
    assert state["np_random"]["bit_generator"] == "PCG64"


def test_set_state_refuses_a_state_of_another_control_mode(make_env) -> None:
    state = make_env(control="joints").unwrapped.get_state()
    env = make_env(control="ee")
    with pytest.raises(ValueError, match="control='joints'"):
        env.unwrapped.set_state(state)


def test_two_envs_in_one_process_do_not_interfere(make_env) -> None:
    first, second = make_env(), make_env()
    first.reset(seed=4)
    second.reset(seed=4)
    before = second.unwrapped.get_state()
    actions = random_actions(first, 20)
    rollout = _rollout(first, actions)
    assert second.unwrapped.get_state() == before
    assert _rollout(second, actions) == rollout


def test_rgb_array_render_is_an_image_and_close_twice_is_fine(make_env) -> None:
    env = make_env(render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert isinstance(image, np.ndarray)
    assert image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] > 0 and image.shape[1] > 0
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10
    env.close()
    env.close()


def test_no_render_mode_renders_nothing(make_env) -> None:
    env = make_env()
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert env.render() is None


@pytest.mark.parametrize(
    ("kwargs", "allowed"),
    [
        ({"control": "foo"}, "('ee', 'joints')"),
        ({"reward_type": "foo"}, "('dense', 'sparse')"),
        ({"render_mode": "foo"}, "('human', 'rgb_array')"),
    ],
    ids=["control", "reward_type", "render_mode"],
)
def test_bad_kwargs_raise_value_error_naming_the_allowed_values(
    kwargs: dict[str, str], allowed: str
) -> None:
    with pytest.raises(ValueError, match="'foo'") as error:
        Robot6ReachEnv(**kwargs)
    assert allowed in str(error.value)
    # gym.make itself warns about a render_mode missing from the metadata before the env raises.
    expect_warning = (
        pytest.warns(UserWarning, match="render_mode")
        if "render_mode" in kwargs
        else contextlib.nullcontext()
    )
    with expect_warning, pytest.raises(ValueError, match=next(iter(kwargs))):
        gym.make(ENV_ID, **kwargs)
