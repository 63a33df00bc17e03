"""The plain SB3 script that the throughput benchmarks hold ``robot6 train`` against: SAC with
the shipped hyperparameters on ``Monitor``-wrapped ``Robot6Reach-v0`` envs, no callbacks, one
PyTorch thread, no files.

    python -m benchmarks.plain_sac '{"steps": 2000, "n_envs": 2, "vec_env": "subproc",
                                     "seed": 0, "overrides": {"learning_starts": 500}}'

Prints one JSON line: ``learn_fps``, SB3's own ``time/fps`` (env steps per second since
``learn`` started) at the last episode's end, the figure ``robot6 train`` logs to TensorBoard.
An in-memory logger output keeps it; SB3 logs it after every episode (``log_interval=1``, as
in ``robot6 train``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import torch
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import robot6_envs
from robot6_sb3.hyperparameters import Hyperparameters

VEC_ENVS = {"dummy": DummyVecEnv, "subproc": SubprocVecEnv}


class LastValues(KVWriter):
    """Keeps the newest value of every key SB3 logs."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        self.values.update(key_values)

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
    kwargs = hyperparameters.sb3_kwargs("sac", env)
    model = SAC("MlpPolicy", env, seed=settings["seed"], verbose=0, **kwargs)
    logged = LastValues()
    model.set_logger(Logger(folder=None, output_formats=[logged]))
    model.learn(total_timesteps=settings["steps"], log_interval=1)
    env.close()
    print(json.dumps({"learn_fps": logged.values["time/fps"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
