"""Tests of ``Robot6ReachGoal-v0`` (``robot6_envs.reach_goal_env``): the goal-conditioned API
that HER relies on, seeding, exact state restore, and SAC + HER training on it."""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC, HerReplayBuffer

import robot6_envs
from robot6_envs import GOAL_ENV_ID, MAX_EPISODE_STEPS, SUCCESS_DISTANCE, Robot6ReachGoalEnv
from robot6_envs.reach_base_env import STATE_KEYS
from robot6_envs.robot import EE_STEP
from tests.env_helpers import assert_plain, assert_set_state_continues, random_actions

Step = tuple[dict[str, bytes], bytes, bool, bool, dict[str, Any]]


def _bytes(observation: dict[str, np.ndarray]) -> dict[str, bytes]:
    return {key: value.tobytes() for key, value in observation.items()}


def _rollout(env: gym.Env, actions: np.ndarray) -> list[Step]:
    """Step through ``actions``; observation and reward are kept as raw bytes (bitwise)."""
    steps = []
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        steps.append(
            (_bytes(observation), np.float64(reward).tobytes(), terminated, truncated, info)
        )
    return steps


def _steered_transitions(env: gym.Env, seed: int) -> list[tuple[dict, float, dict]]:
    """One episode that heads for the target on even steps and moves randomly on odd ones, so
    it both fails and succeeds (``control="ee"``)."""
    observation, _ = env.reset(seed=seed)
    transitions = []
    for step, random_action in enumerate(random_actions(env, MAX_EPISODE_STEPS, seed)):
        toward = (observation["desired_goal"] - observation["achieved_goal"]) / EE_STEP
        action = np.clip(toward, -1, 1) if step % 2 == 0 else 0.3 * random_action
        observation, reward, _, _, info = env.step(action)
        transitions.append((observation, reward, info))
    return transitions


def test_registered_next_to_the_flat_env_with_a_50_step_time_limit() -> None:
    importlib.reload(robot6_envs)
    spec = gym.spec(GOAL_ENV_ID)
    assert GOAL_ENV_ID == "Robot6ReachGoal-v0"
    assert spec.entry_point == "robot6_envs.reach_goal_env:Robot6ReachGoalEnv"
    assert spec.max_episode_steps == MAX_EPISODE_STEPS == 50


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_spaces_and_what_the_goals_hold(make_env, control: str) -> None:
    env = make_env(GOAL_ENV_ID, control=control)
    assert env.action_space == gym.spaces.Box(-1, 1, (3 if control == "ee" else 6,), np.float32)
    shapes = {"observation": (15,), "achieved_goal": (3,), "desired_goal": (3,)}
    assert {key: space.shape for key, space in env.observation_space.items()} == shapes
    for space in env.observation_space.values():
        assert space.dtype == np.float32
        assert np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))
    observation, _ = env.reset(seed=5)
    for action in random_actions(env, 5):
        observation, *_ = env.step(action)
    state = env.unwrapped.get_state()
    assert observation["observation"][12:15].tobytes() == observation["achieved_goal"].tobytes()
    assert observation["desired_goal"].tobytes() == np.float32(state["target"]).tobytes()
    np.testing.assert_array_equal(
        observation["observation"][:12],
        np.float32(state["joint_positions"] + state["joint_velocities"]),
    )


def test_sparse_is_the_default_reward() -> None:
    env = Robot6ReachGoalEnv()
    try:
        assert env.reward_type == "sparse"
        env.reset(seed=0)
        rewards = {env.step(action)[1] for action in random_actions(env, 5)}
        assert rewards == {-1.0}
    finally:
        env.close()


@pytest.mark.parametrize("reward_type", ["dense", "sparse"])
def test_compute_reward_on_a_batch_equals_the_rewards_step_returned(
    make_env, reward_type: str
) -> None:
    env = make_env(GOAL_ENV_ID, reward_type=reward_type)
    transitions = _steered_transitions(env, seed=1)
    successes = [info["is_success"] for _, _, info in transitions]
    assert any(successes) and not all(successes), "the episode must both fail and succeed"
    achieved = np.stack([observation["achieved_goal"] for observation, _, _ in transitions])
    desired = np.stack([observation["desired_goal"] for observation, _, _ in transitions])
    infos = np.array([info for _, _, info in transitions])
    step_rewards = np.array([reward for _, reward, _ in transitions], dtype=np.float32)

    batch_rewards = env.unwrapped.compute_reward(achieved, desired, infos)

    assert batch_rewards.dtype == np.float32 and batch_rewards.shape == (MAX_EPISODE_STEPS,)
    assert batch_rewards.tobytes() == step_rewards.tobytes()
    single = env.unwrapped.compute_reward(achieved[0], desired[0], infos[0])
    assert type(single) is np.float32 and single == transitions[0][1]
    distances = np.array([info["distance"] for _, _, info in transitions])
    assert np.array_equal(distances < SUCCESS_DISTANCE, successes)
    if reward_type == "sparse":
        np.testing.assert_array_equal(batch_rewards, np.where(successes, 0.0, -1.0))
    else:
        assert batch_rewards.tobytes() == (-distances).astype(np.float32).tobytes()


def test_relabeled_goals_get_the_reward_of_their_distance(make_env) -> None:
    env = make_env(GOAL_ENV_ID).unwrapped
    achieved = np.zeros((3, 3), dtype=np.float32)
    desired = np.float32([[0.0, 0.0, 0.0], [0.0, 0.049, 0.0], [0.0, 0.0, 0.051]])
    np.testing.assert_array_equal(env.compute_reward(achieved, desired, None), [0.0, 0.0, -1.0])


def test_never_terminated_by_the_env_and_truncated_at_exactly_50_steps(make_env) -> None:
    env = make_env(GOAL_ENV_ID, control="joints")
    env.reset(seed=0)
    for step, action in enumerate(random_actions(env, MAX_EPISODE_STEPS), start=1):
        observation, _, terminated, truncated, info = env.step(action)
        assert terminated is False
        assert truncated is (step == MAX_EPISODE_STEPS)
        assert type(info["is_success"]) is bool and type(info["distance"]) is float
    goals = observation["achieved_goal"], observation["desired_goal"]
    batch = np.stack([goals[0]] * 4), np.stack([goals[1]] * 4)
    for compute in (env.unwrapped.compute_terminated, env.unwrapped.compute_truncated):
        assert compute(*goals, info).shape == () and not compute(*goals, info)
        assert compute(*batch, [info] * 4).tolist() == [False] * 4


@pytest.mark.parametrize("control", ["ee", "joints"])
def test_same_seed_and_actions_give_bitwise_identical_episodes(make_env, control: str) -> None:
    first, second = make_env(GOAL_ENV_ID, control=control), make_env(GOAL_ENV_ID, control=control)
    actions = random_actions(first, 20)
    reset_first, reset_second = first.reset(seed=42), second.reset(seed=42)
    assert _bytes(reset_first[0]) == _bytes(reset_second[0])
    assert reset_first[1] == reset_second[1]
    assert _rollout(first, actions) == _rollout(second, actions)
    assert _bytes(first.reset()[0]) == _bytes(second.reset()[0])
    assert _bytes(first.reset(seed=43)[0]) != _bytes(reset_first[0])


@pytest.mark.parametrize(("control", "reward_type"), [("ee", "sparse"), ("joints", "dense")])
def test_set_state_on_a_fresh_env_continues_bitwise_identically(
    control: str, reward_type: str
) -> None:
    kwargs = {"control": control, "reward_type": reward_type}
    source, restored = Robot6ReachGoalEnv(**kwargs), Robot6ReachGoalEnv(**kwargs)
    try:
        assert_set_state_continues(source, restored, _rollout, _bytes)
    finally:
        source.close()
        restored.close()


def test_get_state_holds_only_plain_python_values(make_env) -> None:
    env = make_env(GOAL_ENV_ID, control="joints")
    env.reset(seed=0)
    _rollout(env, random_actions(env, 5))
    state = env.unwrapped.get_state()
    assert tuple(state) == STATE_KEYS
    assert_plain(state)
    assert state["control"] == "joints" and state["reward_type"] == "sparse"


@pytest.mark.parametrize(
    ("saved", "made"),
    [({"control": "joints"}, {"control": "ee"}), ({"reward_type": "dense"}, {})],
    ids=["control", "reward_type"],
)
def test_set_state_refuses_a_state_of_another_setting(
    make_env, saved: dict[str, str], made: dict[str, str]
) -> None:
    state = make_env(GOAL_ENV_ID, **saved).unwrapped.get_state()
    env = make_env(GOAL_ENV_ID, **made)
    ((key, value),) = saved.items()
    with pytest.raises(ValueError, match=f"{key}={value!r}"):
        env.unwrapped.set_state(state)


def test_sac_with_her_trains_on_it(make_env) -> None:
    env = make_env(GOAL_ENV_ID)
    model = SAC(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
        learning_starts=100,
        batch_size=32,
        policy_kwargs={"net_arch": [32, 32]},
        seed=0,
        device="cpu",
    )
    before = model.actor.mu.weight.detach().clone()
    model.learn(total_timesteps=200)
    assert model.num_timesteps == 200
    assert model.replay_buffer.size() == 200
    assert not torch.equal(model.actor.mu.weight, before), "no gradient step was taken"
