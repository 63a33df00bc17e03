"""Which SB3 setups a resumable run supports, checked when training starts, before a file is
written: the algorithm (SAC, TQC, TD3, DDPG, CrossQ), the VecEnv (``DummyVecEnv`` or
``SubprocVecEnv`` of ``Monitor``-wrapped envs), a replay buffer the replay log can hold, and no
gSDE. Whether the env offers the state protocol decides exactness, not support."""

from __future__ import annotations

from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from robot6_sb3.algorithms import algo_name
from robot6_sb3.env_state import check_monitor, check_state_protocol, check_vec_env
from robot6_sb3.errors import UnsupportedSetupError
from robot6_sb3.replay_rows import check_loggable


def check_supported_setup(model: OffPolicyAlgorithm, venv: VecEnv, replay_log: bool) -> None:
    """:raises UnsupportedSetupError: naming what is not supported and what to do instead"""
    algo_name(model)
    check_vec_env(venv)
    check_monitor(venv)
    if replay_log:
        check_loggable(model.replay_buffer)
    if model.use_sde:
        raise UnsupportedSetupError(
            "gSDE exploration (use_sde=True) draws its noise matrices before callbacks run, "
            "so a checkpoint cannot hold them; train with use_sde=False"
        )


def has_state_protocol(venv: VecEnv) -> bool:
    """Whether every sub-env offers ``get_state``/``set_state`` (checked to return plain data).

    :raises UnsupportedSetupError: when ``get_state()`` returns something a checkpoint
        cannot hold
    """
    if not (venv.has_attr("get_state") and venv.has_attr("set_state")):
        return False
    check_state_protocol(venv)
    return True
