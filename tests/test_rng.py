"""The random generators a checkpoint carries: captured, saved, loaded and put back."""

from __future__ import annotations

import io
import random

import numpy as np
import torch
from gymnasium import spaces

from robot6_sb3.rng import capture_rng, restore_rng, rng_problem


def _draws(space: spaces.Box) -> list[object]:
    return [random.random(), np.random.rand(3).tolist(), torch.rand(2).tolist(), space.sample()]


def _round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def _as_lists(state: dict) -> dict:
    """The state as files before the compact format held it: plain lists of ints."""
    old = dict(state)
    version, internal, gauss = state["python"]
    old["python"] = [version, internal.tolist(), gauss]
    old["numpy"] = {**state["numpy"], "state": dict(state["numpy"]["state"])}
    old["numpy"]["state"]["key"] = state["numpy"]["state"]["key"].tolist()
    return old


def test_a_saved_state_brings_every_generator_back() -> None:
    space = spaces.Box(-1.0, 1.0, (3,))
    space.seed(3)
    np.random.randn()  # a cached Gaussian is part of NumPy's state
    state = _round_trip(capture_rng(space, cuda=False))
    expected = _draws(space)

    for with_old_lists in (False, True):
        random.seed(1)
        np.random.seed(2)
        torch.manual_seed(3)
        space.seed(4)
        restore_rng(space, _as_lists(state) if with_old_lists else state)
        drawn = _draws(space)
        assert drawn[:3] == expected[:3]
        assert np.array_equal(drawn[3], expected[3])


def test_the_mersenne_twister_states_are_tensors_not_long_lists() -> None:
    state = capture_rng(spaces.Box(-1.0, 1.0, (3,)), cuda=False)

    assert isinstance(state["python"][1], torch.Tensor) and state["python"][1].numel() == 625
    assert isinstance(state["numpy"]["state"]["key"], torch.Tensor)


def test_a_damaged_state_is_named_before_any_generator_is_touched() -> None:
    state = capture_rng(spaces.Box(-1.0, 1.0, (3,)), cuda=False)
    short = {**state, "python": [state["python"][0], torch.zeros(3), state["python"][2]]}
    wrong_key = {**state, "numpy": {**state["numpy"], "state": {"key": "x", "pos": 0}}}
    no_torch = {key: value for key, value in state.items() if key != "torch"}
    other_generator = {**state, "action_space": {**state["action_space"], "bit_generator": "seed"}}
    before = random.getstate(), np.random.get_state()[1].tolist()

    assert rng_problem(_round_trip(state)) is None
    assert rng_problem(_as_lists(state)) is None
    assert "wrong size" in str(rng_problem(short))
    assert rng_problem(wrong_key) is not None
    assert "KeyError" in str(rng_problem(no_torch))
    assert "unknown bit generator 'seed'" in str(rng_problem(other_generator))
    assert (random.getstate(), np.random.get_state()[1].tolist()) == before
