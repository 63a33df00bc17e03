"""The plain SB3 script that the throughput benchmarks hold ``robot6 train`` against: SAC (or
TQC, ``"algo": "tqc"``) with the shipped hyperparameters on ``Monitor``-wrapped
``Robot6Reach-v0`` envs, no callbacks, one PyTorch thread, no files.

    python -m benchmarks.plain_sac '{"steps": 2000, "n_envs": 2, "vec_env": "subproc",
                                     "seed": 0, "overrides": {"learning_starts": 500}}'

Prints one JSON line: ``learn_fps``, SB3's own ``time/fps`` (env steps per second since
``learn`` started) at the last episode's end, the figure ``robot6 train`` logs to TensorBoard,
and ``episode_ends``, ``[num_timesteps, epoch seconds]`` of every episode's end (when SB3
logged it), from which the benchmarks take the training phase's env steps per second and
where the command's time went. An in-memory logger output keeps them; SB3 logs after every
episode (``log_interval=1``, as in ``robot6 train``).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import robot6_envs
from robot6_sb3.hyperparameters import Hyperparameters

VEC_ENVS = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}
ALGORITHMS = {"sac": SAC, "tqc": TQC}


class LastValues(KVWriter):
    """Keeps the newest value of every key SB3 logs, and when each step was logged."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.times: list[tuple[int, float]] = []
        """``(num_timesteps, epoch seconds)`` of every write."""

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        self.values.update(key_values)
        self.times.append((step, time.time()))

    def close(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    (settings_json,) = sys.argv[1:] if argv is None else argv
    settings = json.loads(settings_json)
    torch.set_num_threads(1)
    hyperparameters = Hyperparameters.from_dict(
        {**Hyperparameters().to_dict(), **settings["overrides"]}
    )
    # "module:id" makes SubprocVecEnv's workers import robot6_envs, which registers the env.
    env = make_vec_env(
        f"{robot6_envs.__name__}:{robot6_envs.ENV_ID}",
        n_envs=settings["n_envs"],
        vec_env_cls=VEC_ENVS[settings["vec_env"]],
    )
    algo = settings.get("algo", "sac")
    kwargs = hyperparameters.sb3_kwargs(algo, env)
    device = settings.get("device", "cpu")
    model = ALGORITHMS[algo](
        "MlpPolicy", env, seed=settings["seed"], device=device, verbose=0, **kwargs
    )
    logged = LastValues()
    model.set_logger(Logger(folder=None, output_formats=[logged]))
    model.learn(total_timesteps=settings["steps"], log_interval=1)
    env.close()
    print(json.dumps({"learn_fps": logged.values["time/fps"], "episode_ends": logged.times}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
