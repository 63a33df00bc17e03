"""The env side of a checkpoint: which env a run trains on, and its state for exact resume.

**The env state protocol.** An env resumes exactly when it offers ``get_state()``, returning
plain data (numbers, strings, lists, dicts) that holds everything its future depends on
(including its ``np_random``), and ``set_state(state)``, which restores it. Both are reached
through Gymnasium wrappers (``get_wrapper_attr``) and through ``VecEnv.env_method``, so
``DummyVecEnv`` and ``SubprocVecEnv`` work alike. The wrappers' own state is handled here for
the wrappers that have one and that SB3 scripts use everywhere (``TimeLimit``,
``OrderEnforcing``, SB3's ``Monitor``); wrappers known to keep no state pass as they are. An
env without the protocol, or with a wrapper robot6 cannot account for, still gets
checkpoints, marked not exact, with the reason.
"""

from __future__ import annotations

from typing import Any

from gymnasium import Env, Wrapper, spaces, wrappers
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecEnvWrapper

from robot6_sb3.errors import IncompatibleCheckpointError, UnsupportedSetupError
from robot6_sb3.model_config import to_plain

WRAPPER_STATE: dict[type[Wrapper], tuple[str, ...]] = {
    wrappers.TimeLimit: ("_elapsed_steps",),
    wrappers.OrderEnforcing: ("_has_reset",),
    Monitor: ("rewards", "needs_reset"),
}
"""Wrappers whose state the checkpoint holds, and the attributes that make it up (Monitor's
lifetime statistics, ``episode_returns`` and the like, do not shape training and are not
kept)."""

STATELESS_WRAPPERS: tuple[type[Wrapper], ...] = (
    wrappers.AddRenderObservation,
    wrappers.ClipAction,
    wrappers.ClipReward,
    wrappers.DtypeObservation,
    wrappers.FilterObservation,
    wrappers.FlattenObservation,
    wrappers.HumanRendering,
    wrappers.PassiveEnvChecker,
    wrappers.RecordVideo,
    wrappers.RenderCollection,
    wrappers.RepeatAction,
    wrappers.RescaleAction,
    wrappers.RescaleObservation,
    wrappers.ReshapeObservation,
    wrappers.TransformAction,
    wrappers.TransformObservation,
    wrappers.TransformReward,
)
"""Wrappers whose behaviour does not depend on what happened before."""

VEC_ENV_NAMES = {DummyVecEnv: "dummy", SubprocVecEnv: "subproc"}


def _path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__name__}"


KNOWN_WRAPPERS = {_path(cls) for cls in (*WRAPPER_STATE, *STATELESS_WRAPPERS)}


def check_vec_env(venv: VecEnv) -> str:
    """``"dummy"`` or ``"subproc"``.

    :raises UnsupportedSetupError: for a VecEnv wrapper or another VecEnv class
    """
    if isinstance(venv, VecEnvWrapper):
        raise UnsupportedSetupError(
            f"the env is wrapped in {type(venv).__name__}, whose running state (statistics, "
            "stacked frames) robot6 checkpoints do not hold, so a resume could not continue it; "
            "use a DummyVecEnv or SubprocVecEnv of Monitor-wrapped envs"
        )
    for cls, name in VEC_ENV_NAMES.items():
        if isinstance(venv, cls):
            return name
    raise UnsupportedSetupError(
        f"{type(venv).__name__} is not supported; robot6 checkpoints support DummyVecEnv and "
        "SubprocVecEnv"
    )


def check_monitor(venv: VecEnv) -> None:
    """:raises UnsupportedSetupError: unless every sub-env is wrapped in SB3's ``Monitor``
    (it reports each episode's reward and length, which the CSV and the checkpoints need)."""
    if not all(venv.env_is_wrapped(Monitor)):
        raise UnsupportedSetupError(
            "the env is not wrapped in stable_baselines3's Monitor, which reports each "
            "episode's reward and length; build it with make_vec_env(...) or wrap each env "
            "in Monitor(env)"
        )


def space_description(space: spaces.Space) -> dict[str, Any]:
    """A space as plain data, precise enough to tell two spaces apart."""
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_description(s) for k, s in space.items()}}
    description: dict[str, Any] = {"type": type(space).__name__, "shape": list(space.shape or ())}
    if isinstance(space, spaces.Box):
        description.update(dtype=str(space.dtype), low=space.low.tolist(), high=space.high.tolist())
    return description


def env_description(venv: VecEnv) -> dict[str, Any]:
    """Which env a run trains on: id and kwargs (when made with ``gym.make``), the number and
    kind of sub-envs, and the spaces."""
    spec = venv.get_attr("spec", indices=[0])[0]
    return {
        "env_id": None if spec is None else spec.id,
        "env_kwargs": {} if spec is None else to_plain(dict(spec.kwargs)),
        "n_envs": int(venv.num_envs),
        "vec_env": check_vec_env(venv),
        "observation_space": space_description(venv.observation_space),
        "action_space": space_description(venv.action_space),
    }


def check_same_env(saved: dict[str, Any], venv: VecEnv) -> None:
    """:raises IncompatibleCheckpointError: naming each field where ``venv`` differs from the
    env a checkpoint was trained on (the id, the number of sub-envs, the spaces)."""
    current = {
        **env_description(venv),
        "obs_dim": int(spaces.flatdim(venv.observation_space)),
        "act_dim": int(spaces.flatdim(venv.action_space)),
    }
    differences = [
        f"{name}: checkpoint was made for {_brief(saved[name])}, this env has {_brief(current[name])}"
        for name in ("env_id", "n_envs", "obs_dim", "act_dim", "observation_space", "action_space")
        if saved.get(name) is not None and saved[name] != current[name]
    ]
    if differences:
        raise IncompatibleCheckpointError(
            "the env does not match the checkpoint's: " + "; ".join(differences)
        )


def _brief(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _chain(env: Env) -> list[type]:
    layers = []
    while isinstance(env, Wrapper):
        layers.append(type(env))
        env = env.env
    return layers


def _wrapper_layers(venv: VecEnv) -> list[tuple[str, bool]] | None:
    """``(import path, keeps its own state through get_state/set_state)`` of every wrapper
    layer of sub-env 0 (the others are built alike), or ``None`` when they cannot be listed."""
    if isinstance(venv, DummyVecEnv):
        return [(_path(cls), _has_own_state(cls)) for cls in _chain(venv.envs[0])]
    spec = venv.get_attr("spec", indices=[0])[0]
    if spec is None:
        return None
    # gym.make's own layers, then what was put around the made env (spec.additional_wrappers).
    made = [wrappers.PassiveEnvChecker] if not spec.disable_env_checker else []
    made += [wrappers.OrderEnforcing] if spec.order_enforce else []
    made += [wrappers.TimeLimit] if spec.max_episode_steps else []
    paths = [_path(cls) for cls in made] + [w.entry_point for w in spec.additional_wrappers]
    return [(path, False) for path in paths]


def _has_own_state(cls: type) -> bool:
    return callable(getattr(cls, "get_state", None)) and callable(getattr(cls, "set_state", None))


def inexact_reasons(venv: VecEnv) -> list[str]:
    """Why checkpoints of this env cannot resume exactly (empty when they can)."""
    if not (venv.has_attr("get_state") and venv.has_attr("set_state")):
        return [
            "the env has no get_state()/set_state() (robot6's env state protocol), so a "
            "resumed run would start its episodes anew"
        ]
    layers = _wrapper_layers(venv)
    if layers is None:
        return ["the env's wrappers cannot be listed (it was not made with gym.make)"]
    return [
        f"the wrapper {path.replace(':', '.')} may keep state that robot6 does not capture"
        for path, own_state in layers
        if path not in KNOWN_WRAPPERS and not own_state
    ]


def _present_attributes(venv: VecEnv) -> list[str]:
    paths = {path for path, _ in _wrapper_layers(venv) or []}
    return [name for cls, names in WRAPPER_STATE.items() if _path(cls) in paths for name in names]


PLAIN_TYPES = (str, int, float, bool, type(None))


def _not_plain(value: Any, where: str) -> str | None:
    """Where ``value`` holds something other than plain data (``None`` when it does not)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{where} has the key {key!r} ({type(key).__name__}, not str)"
            found = _not_plain(item, f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _not_plain(item, f"{where}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, PLAIN_TYPES):
        return None
    return f"{where} is a {type(value).__module__}.{type(value).__name__}"


def check_state_protocol(venv: VecEnv) -> None:
    """:raises UnsupportedSetupError: when the env's ``get_state()`` returns more than plain
    data (a checkpoint holding it would need pickle to load, and robot6 refuses those)."""
    state = venv.env_method("get_state", indices=[0])[0]
    problem = _not_plain(state, "get_state()")
    if problem:
        raise UnsupportedSetupError(
            f"the env's {problem}; get_state() must return plain data (numbers, strings, "
            "lists, dicts with str keys), e.g. array.tolist() instead of a NumPy array"
        )


def capture_env_state(venv: VecEnv) -> list[dict[str, Any]]:
    """Each sub-env's state: its ``get_state()`` and its wrappers' attributes.

    Call only when :func:`inexact_reasons` is empty.
    """
    attributes = _present_attributes(venv)
    states = venv.env_method("get_state")
    wrappers = {name: venv.get_attr(name) for name in attributes}
    return [
        {
            "env": state,
            "wrappers": {name: to_plain(values[index]) for name, values in wrappers.items()},
        }
        for index, state in enumerate(states)
    ]


def restore_env_state(venv: VecEnv, states: list[dict[str, Any]]) -> None:
    """Reset ``venv`` and put each sub-env back into its saved state.

    :raises IncompatibleCheckpointError: when the number of sub-envs differs or an env
        refuses its state
    """
    if len(states) != venv.num_envs:
        raise IncompatibleCheckpointError(
            f"the checkpoint holds the state of {len(states)} envs, this VecEnv has {venv.num_envs}"
        )
    venv.reset()
    for index, state in enumerate(states):
        try:
            venv.env_method("set_state", state["env"], indices=[index])
        except (ValueError, TypeError, KeyError, EOFError, BrokenPipeError) as exc:
            # A SubprocVecEnv worker dies on the error and the pipe says only EOFError.
            detail = str(exc) or "its worker process ended"
            if isinstance(exc, KeyError):
                detail = f"it has no {detail} entry"
            raise IncompatibleCheckpointError(
                f"env {index} refused the checkpoint's env state: {detail}"
            ) from None
        for name, value in state["wrappers"].items():
            venv.env_method("set_wrapper_attr", name, value, indices=[index])
