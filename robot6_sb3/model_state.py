"""What an SB3 model holds that shapes its future, captured and put back.

- its networks and optimizers, exactly as SB3's own ``save`` finds them
  (``_get_torch_save_params``: the policy module with actor, critics and target networks, one
  optimizer per learned part, the entropy coefficient tensor);
- the twelve documented checkpoint keys (SPEC 5), built as views of those same tensors;
- SB3's counters, last observation and episode statistics;
- the state of Ornstein-Uhlenbeck action noise.

Captures are deep copies on the CPU, so training on cannot change a checkpoint being written.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.noise import (
    ActionNoise,
    OrnsteinUhlenbeckActionNoise,
    VectorizedActionNoise,
)
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.utils import get_device

from robot6_sb3.engine.update import FastUpdate
from robot6_sb3.errors import IncompatibleCheckpointError
from robot6_sb3.layout import (
    ALPHA_OPT,
    LOG_ALPHA,
    POLICY,
    POLICY_OPT,
    Q1,
    Q1_TARGET,
    Q2,
    Q2_TARGET,
    Q_OPT,
)

STATE_DICTS = "state_dicts"
TENSORS = "tensors"

EMPTY_OPTIMIZER: dict[str, Any] = {"state": {}, "param_groups": []}
"""``alpha_opt`` of an algorithm whose entropy coefficient is fixed or absent."""

SB3_PREFIXES = {
    POLICY: "actor.",
    Q1: "critic.qf0.",
    Q2: "critic.qf1.",
    Q1_TARGET: "critic_target.qf0.",
    Q2_TARGET: "critic_target.qf1.",
}
"""Where each documented network lives in SB3's policy module. A part an algorithm lacks
(DDPG's second critic, CrossQ's target critics) is an empty dict in the checkpoint."""

SB3_OPTIMIZERS = {
    POLICY_OPT: "actor.optimizer",
    Q_OPT: "critic.optimizer",
    ALPHA_OPT: "ent_coef_optimizer",
}


def clone_to_cpu(value: Any) -> Any:
    """A deep copy of nested dicts/lists of tensors, on the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: clone_to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clone_to_cpu(item) for item in value]
    return value


def _attribute(model: OffPolicyAlgorithm, dotted: str) -> Any:
    target: Any = model
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def capture_networks(model: OffPolicyAlgorithm) -> dict[str, Any]:
    """``{"state_dicts": {name: state_dict}, "tensors": {name: tensor}}`` of every module,
    optimizer and loose tensor SB3 itself saves for ``model``."""
    state_dict_names, tensor_names = model._get_torch_save_params()
    return clone_to_cpu(
        {
            STATE_DICTS: {name: _attribute(model, name).state_dict() for name in state_dict_names},
            TENSORS: {name: _attribute(model, name) for name in tensor_names},
        }
    )


def documented_views(networks: dict[str, Any]) -> dict[str, Any]:
    """The twelve keys' networks, optimizers and ``log_alpha``, sharing ``networks``' tensors
    (``torch.save`` writes a shared tensor once, so the views cost no disk)."""
    policy = networks[STATE_DICTS]["policy"]
    views: dict[str, Any] = {
        key: {
            name[len(prefix) :]: tensor
            for name, tensor in policy.items()
            if name.startswith(prefix)
        }
        for key, prefix in SB3_PREFIXES.items()
    }
    for key, name in SB3_OPTIMIZERS.items():
        views[key] = networks[STATE_DICTS].get(name, EMPTY_OPTIMIZER)
    tensors = networks[TENSORS]
    if "log_ent_coef" in tensors:
        views[LOG_ALPHA] = tensors["log_ent_coef"]
    elif "ent_coef_tensor" in tensors:
        views[LOG_ALPHA] = torch.log(tensors["ent_coef_tensor"]).reshape(1)
    else:
        views[LOG_ALPHA] = torch.empty(0)
    return views


def apply_networks(model: OffPolicyAlgorithm, networks: dict[str, Any]) -> None:
    """Load a :func:`capture_networks` result into ``model`` (built for the same settings).

    :raises IncompatibleCheckpointError: when a network or optimizer does not fit
    """
    device = get_device(model.device)
    try:
        model.set_parameters(networks[STATE_DICTS], exact_match=True, device=device)
        with torch.no_grad():
            for name, tensor in networks[TENSORS].items():
                target = _attribute(model, name)
                target.copy_(tensor.to(target.device).reshape(target.shape))
    except (RuntimeError, ValueError, KeyError, AttributeError) as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = "; ".join(lines[:3]) or type(exc).__name__
        raise IncompatibleCheckpointError(
            f"the checkpoint's networks do not fit this {type(model).__name__} model: {detail}"
        ) from None


def capture_counters(model: OffPolicyAlgorithm) -> dict[str, Any]:
    """SB3's counters, last observation and episode statistics."""
    return {
        "num_timesteps": int(model.num_timesteps),
        "episode_num": int(model._episode_num),
        "n_updates": int(model._n_updates),
        "current_progress_remaining": float(model._current_progress_remaining),
        "last_obs": _observation_to_tensors(model._last_obs),
        "ep_info_buffer": [
            {key: float(value) for key, value in info.items()}
            for info in model.ep_info_buffer or []
        ],
        "ep_success_buffer": [bool(success) for success in model.ep_success_buffer or []],
    }


def apply_counters(model: OffPolicyAlgorithm, state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_counters`.

    :raises IncompatibleCheckpointError: for counters or episode statistics that are not
        numbers (whether the last observation fits the model's envs is
        :func:`check_last_observation`'s question: only a resume needs it to)
    """
    try:
        counters = [int(state[name]) for name in ("num_timesteps", "episode_num", "n_updates")]
        progress = float(state["current_progress_remaining"])
        last_obs = _observation_from_tensors(state["last_obs"])
        infos = [
            {str(k): int(v) if k == "l" else float(v) for k, v in info.items()}
            for info in state["ep_info_buffer"]
        ]
        successes = [bool(success) for success in state["ep_success_buffer"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IncompatibleCheckpointError(
            f"the checkpoint's training state is damaged ({type(exc).__name__}: {exc})"[:300]
        ) from None
    model.num_timesteps, model._episode_num, model._n_updates = counters
    model._current_progress_remaining = progress
    model._last_obs = last_obs
    window = model._stats_window_size
    model.ep_info_buffer = deque(infos, maxlen=window)
    model.ep_success_buffer = deque(successes, maxlen=window)


def check_last_observation(model: OffPolicyAlgorithm, last_obs: Any) -> None:
    """:raises IncompatibleCheckpointError: when ``last_obs`` is not one observation per env
    (``None``: SB3 resets the envs when ``learn`` starts)"""
    if last_obs is None:
        return
    space = model.observation_space
    parts = (
        {key: (last_obs.get(key) if isinstance(last_obs, dict) else None, sub.shape)
         for key, sub in space.spaces.items()}
        if isinstance(space, spaces.Dict)
        else {"": (last_obs, space.shape)}
    )  # fmt: skip
    for key, (value, shape) in parts.items():
        expected = (model.n_envs, *shape)
        if not isinstance(value, np.ndarray) or value.shape != expected:
            found = value.shape if isinstance(value, np.ndarray) else type(value).__name__
            raise IncompatibleCheckpointError(
                f"the checkpoint's last observation{' ' + key if key else ''} has shape "
                f"{found}, this model's envs need {expected}"
            )


def _observation_to_tensors(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {key: torch.as_tensor(np.array(value)).clone() for key, value in obs.items()}
    return torch.as_tensor(np.array(obs)).clone()


def _observation_from_tensors(obs: Any) -> Any:
    if obs is None:
        return None
    if isinstance(obs, dict):
        return {key: value.numpy().copy() for key, value in obs.items()}
    return obs.numpy().copy()


def capture_noise(noise: ActionNoise | None) -> list[list[float]] | None:
    """The running state of Ornstein-Uhlenbeck action noise (one list per env), else ``None``.

    Normal noise draws from NumPy's global generator and keeps no state of its own.
    """
    noises = noise.noises if isinstance(noise, VectorizedActionNoise) else [noise]
    if not all(isinstance(item, OrnsteinUhlenbeckActionNoise) for item in noises):
        return None
    return [item.noise_prev.tolist() for item in noises]


def apply_noise(noise: ActionNoise | None, state: list[list[float]] | None) -> None:
    """Inverse of :func:`capture_noise` (SB3 resets the noise when ``learn`` starts, so this
    runs after that).

    :raises IncompatibleCheckpointError: when the state does not fit ``noise`` (see
        :func:`check_noise`)
    """
    if state is None:
        return
    for item, previous in zip(_noises(noise), check_noise(noise, state), strict=True):
        item.noise_prev = previous


def check_noise(noise: ActionNoise | None, state: Any) -> list[np.ndarray]:
    """The saved action-noise state as arrays for ``noise``'s parts (none for ``None``).

    :raises IncompatibleCheckpointError: for a state of another number of envs or action
        size, or one that is not numbers
    """
    if state is None:
        return []
    noises = _noises(noise)
    if not isinstance(state, list):
        raise IncompatibleCheckpointError(
            f"the checkpoint's action noise is damaged (a {type(state).__name__}, not one list "
            "per env)"
        )
    if len(noises) != len(state):
        raise IncompatibleCheckpointError(
            f"the checkpoint holds action noise for {len(state)} envs, the model has {len(noises)}"
        )
    arrays = []
    for item, previous in zip(noises, state, strict=True):
        shape = getattr(item, "noise_prev", np.empty(0)).shape
        try:
            array = np.array(previous, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise IncompatibleCheckpointError(
                f"the checkpoint's action noise is damaged ({exc})"[:300]
            ) from None
        if not isinstance(item, OrnsteinUhlenbeckActionNoise) or array.shape != shape:
            raise IncompatibleCheckpointError(
                f"the checkpoint's action noise (shape {array.shape}) does not fit this model's "
                f"{type(item).__name__}"
            )
        arrays.append(array.astype(item.noise_prev.dtype))
    return arrays


def _noises(noise: ActionNoise | None) -> list[Any]:
    return noise.noises if isinstance(noise, VectorizedActionNoise) else [noise]


def actor_is_finite(model: OffPolicyAlgorithm) -> bool:
    """Whether the actor's weights are all finite: a cheap check (one sum of all of them) that
    runs before every action, since a NaN weight makes the next action NaN."""
    with torch.no_grad():
        weights = model.flat_actor_weights() if isinstance(model, FastUpdate) else None
        if weights is None:
            weights = torch.cat([parameter.reshape(-1) for parameter in model.actor.parameters()])
        # A sum can also overflow with finite weights, so a non-finite one is confirmed.
        return bool(torch.isfinite(weights.sum())) or bool(torch.isfinite(weights).all())


def non_finite_parts(networks: dict[str, Any]) -> list[str]:
    """The parts of :func:`capture_networks` output holding a NaN or infinite value: the
    policy's modules (``actor``, ``critic``, ``critic_target``...), optimizers and tensors."""

    def finite(tensor: torch.Tensor) -> bool:
        return not tensor.is_floating_point() or bool(torch.isfinite(tensor).all())

    # Runs at every save: first one cheap test (a NaN or infinity makes its tensor's sum
    # non-finite), then the part-by-part search only when it fails.
    sums = [tensor.sum() for tensor in _tensors(networks) if tensor.is_floating_point()]
    if not sums or bool(torch.stack(sums).isfinite().all()):
        return []
    found = []
    for name, state in networks[STATE_DICTS].items():
        if name == "policy":
            found += sorted({key.split(".")[0] for key, t in state.items() if not finite(t)})
        elif not all(finite(tensor) for tensor in _tensors(state)):
            found.append(name)
    found += [name for name, tensor in networks[TENSORS].items() if not finite(tensor)]
    return found


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []
