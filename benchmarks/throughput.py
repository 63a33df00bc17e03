"""Training throughput: env steps per second of a whole ``robot6 train`` command against plain
SB3 on the same model, and the cost of one gradient step against its arithmetic floor.

    python -m benchmarks.throughput            # 3 alternating pairs of 40-episode runs
    python -m benchmarks.throughput --quick    # a smoke run of a few seconds

1. Both sides run as a new Python process with the shipped hyperparameters, seed 0, one
   PyTorch thread, timed from the command's start to its exit (imports, set-up, the 1,000
   random ``learning_starts`` steps and the training steps): ``robot6 train --episodes N``
   (checkpoint every episode, replay log, CSV, TensorBoard) against
   ``SAC("MlpPolicy", ...).learn(N * 50)`` with no callbacks and no output.
2. The update loop: ``model.train(gradient_steps=G)`` timed on a buffer of random-action
   transitions, for SAC and TQC. Its FLOPs are counted by ``torch.utils.flop_counter``
   (matmuls forward and backward); the floor is FLOPs / the machine's matmul FLOP/s, measured
   both at the nets' own shapes (batch x width x width) and at a large square matmul (peak).
3. Where one training env step goes: gradient step, policy action, env step, and the rest
   (SB3's bookkeeping: buffer add, logger), each timed inside one plain ``learn`` run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch.utils.flop_counter import FlopCounterMode

import robot6_envs
from robot6_sb3.hyperparameters import Hyperparameters

EPISODE_STEPS = 50
ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": SAC, "tqc": TQC}


def _plain_child(episodes: int, seed: int, overrides: dict[str, Any]) -> None:
    """The plain side, run in its own process (``--plain-child``)."""
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    hyperparameters = Hyperparameters.from_dict({**Hyperparameters().to_dict(), **overrides})
    env = Monitor(gym.make(robot6_envs.ENV_ID))
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, **hyperparameters.sb3_kwargs())
    model.learn(total_timesteps=episodes * EPISODE_STEPS)


def _robot6_options(overrides: dict[str, Any]) -> list[str]:
    """``overrides`` as ``robot6 train`` options."""
    options = []
    for name, value in overrides.items():
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        options += [f"--{name.replace('_', '-')}", text]
    return options


def whole_runs(
    episodes: int, pairs: int, overrides: dict[str, Any]
) -> tuple[list[float], list[float]]:
    """Seconds of ``robot6 train`` and of the plain script, in alternating pairs."""
    robot6_times, plain_times = [], []
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        robot6 = [sys.executable, "-m", "robot6_sb3", "train", "--episodes", str(episodes)]
        robot6 += ["--seed", "0", "--no-progress", *_robot6_options(overrides)]
        plain = [sys.executable, "-m", "benchmarks.throughput", "--plain-child", str(episodes)]
        plain.append(json.dumps(overrides))
        # The plain side imports this module from a temporary working folder.
        env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        for pair in range(pairs):
            sides = [("robot6", robot6), ("plain", plain)]
            for name, command in sides if pair % 2 == 0 else sides[::-1]:
                seconds = _run_with_env(command, cwd, env)
                (robot6_times if name == "robot6" else plain_times).append(seconds)
    return robot6_times, plain_times


def _run_with_env(command: list[str], cwd: Path, extra_env: dict[str, str]) -> float:
    """Wall seconds of ``command`` from spawn to exit."""
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, capture_output=True, env={**os.environ, **extra_env}
    )
    return time.perf_counter() - start


def _model(algo: str, hyperparameters: Hyperparameters) -> OffPolicyAlgorithm:
    """A model whose buffer holds ``learning_starts`` random-action transitions."""
    env = gym.make(robot6_envs.ENV_ID)
    model = ALGORITHMS[algo]("MlpPolicy", env, seed=0, **hyperparameters.sb3_kwargs())
    model.learn(total_timesteps=hyperparameters.learning_starts)
    return model


def gradient_step_ms(model: OffPolicyAlgorithm, steps: int, repeats: int) -> list[float]:
    """Milliseconds per gradient step of ``model.train`` (SB3's own update loop)."""
    batch_size = model.batch_size
    model.train(gradient_steps=10, batch_size=batch_size)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.train(gradient_steps=steps, batch_size=batch_size)
        times.append((time.perf_counter() - start) * 1000 / steps)
    return times


def gradient_step_flops(model: OffPolicyAlgorithm) -> int:
    """FLOPs of one gradient step (matmuls forward and backward, as torch counts them)."""
    counter = FlopCounterMode(display=False)
    with counter:
        model.train(gradient_steps=1, batch_size=model.batch_size)
    return int(counter.get_total_flops())


def matmul_flops_per_s(m: int, k: int, n: int, seconds: float = 0.5) -> float:
    """Measured FLOP/s of ``(m x k) @ (k x n)`` float32 matmuls on the current threads."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    for _ in range(10):
        torch.mm(a, b, out=out)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            torch.mm(a, b, out=out)
        count += 20
    return 2 * m * k * n * count / elapsed


def training_step_parts(
    algo: str, hyperparameters: Hyperparameters, steps: int
) -> dict[str, float]:
    """Milliseconds per env step of plain ``learn`` once every step trains, and of its parts,
    timed inside that same run: ``train``, ``predict`` and the vec env's ``step``."""
    model = _model(algo, hyperparameters)
    seconds = {"train": 0.0, "predict": 0.0, "env": 0.0}

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - start

        return wrapper

    env = model.get_env()
    assert env is not None
    model.train = timed("train", model.train)  # type: ignore[method-assign]
    model.predict = timed("predict", model.predict)  # type: ignore[method-assign]
    env.step = timed("env", env.step)  # type: ignore[method-assign]
    start = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    seconds["total"] = time.perf_counter() - start
    env.close()
    return {name: value * 1000 / steps for name, value in seconds.items()}


def _stats(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A smoke run of a few seconds.")
    parser.add_argument("--pairs", type=int, default=3, help="Alternating whole-run pairs.")
    parser.add_argument("--episodes", type=int, default=40, help="Episodes per whole run.")
    parser.add_argument("--gradient-steps", type=int, default=200, help="Per timed repeat.")
    parser.add_argument("--repeats", type=int, default=5, help="Timed gradient-step repeats.")
    parser.add_argument("--plain-child", nargs=2, help=argparse.SUPPRESS)  # the timed child
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.plain_child:
        episodes, overrides_json = args.plain_child
        _plain_child(int(episodes), 0, json.loads(overrides_json))
        return 0

    hyperparameters = Hyperparameters()
    overrides: dict[str, Any] = {}
    if args.quick:
        args.pairs, args.episodes, args.gradient_steps, args.repeats = 1, 1, 5, 2
        overrides = {"net_arch": [32, 32], "batch_size": 32, "learning_starts": 100}
        hyperparameters = hyperparameters.replace(**overrides)

    robot6_times, plain_times = whole_runs(args.episodes, args.pairs, overrides)
    steps = args.episodes * EPISODE_STEPS
    ratios = [r / p for r, p in zip(robot6_times, plain_times, strict=True)]
    print("## Training throughput\n")
    print(
        f"{args.pairs} alternating pairs of whole commands, {args.episodes} episodes "
        f"({steps:,} env steps, the first {hyperparameters.learning_starts:,} random), seed 0, "
        f"hyperparameters {hyperparameters.to_dict()}, one PyTorch thread.\n"
    )
    print("| command | seconds, median (min-max) | env steps/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| `robot6 train --episodes {args.episodes}` | {_stats(robot6_times)} "
        f"| {steps / statistics.median(robot6_times):.0f} |"
    )
    print(
        f"| plain SB3 `SAC(...).learn({steps})` | {_stats(plain_times)} "
        f"| {steps / statistics.median(plain_times):.0f} |"
    )
    print(f"\nWall-time ratio robot6 / plain, whole command: {_stats(ratios, 3)}\n")

    seconds = 0.05 if args.quick else 1.0
    peak = matmul_flops_per_s(1024, 1024, 1024, seconds)
    width = hyperparameters.net_arch[-1]
    at_shape = matmul_flops_per_s(hyperparameters.batch_size, width, width, seconds)
    print("## Update loop against the arithmetic floor\n")
    print(
        f"Measured float32 matmul speed, one thread: {peak / 1e9:.1f} GFLOP/s at 1024^3 (peak), "
        f"{at_shape / 1e9:.1f} GFLOP/s at {hyperparameters.batch_size}x{width}x{width} "
        "(the nets' own shape).\n"
    )
    print(
        "| algo | MFLOP per gradient step | ms per gradient step, median (min-max) "
        "| floor at peak, ms | x floor (peak) | floor at net shape, ms | x floor (net shape) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for algo in ALGORITHMS:
        model = _model(algo, hyperparameters)
        flops = gradient_step_flops(model)
        times = gradient_step_ms(model, args.gradient_steps, args.repeats)
        median = statistics.median(times)
        floor_peak, floor_shape = flops / peak * 1000, flops / at_shape * 1000
        print(
            f"| {algo.upper()} | {flops / 1e6:.1f} | {_stats(times)} | {floor_peak:.2f} "
            f"| {median / floor_peak:.1f} | {floor_shape:.2f} | {median / floor_shape:.1f} |"
        )
        model.get_env().close()

    parts = training_step_parts("sac", hyperparameters, 100 if args.quick else 1_000)
    rest = parts["total"] - parts["train"] - parts["predict"] - parts["env"]
    print("\n## Where one SAC training step goes (plain SB3 learn, every step trains)\n")
    print("Each part timed inside the same `learn` run.\n")
    print("| part | ms per env step | share |")
    print("| --- | ---: | ---: |")
    for label, value in (
        ("gradient step (`model.train`, SB3's update)", parts["train"]),
        ("policy action (`model.predict`, one observation)", parts["predict"]),
        ("env step (`DummyVecEnv.step`: PyBullet, IK, Monitor)", parts["env"]),
        ("the rest (SB3 collect_rollouts, buffer add, logger)", rest),
        ("**measured total**", parts["total"]),
    ):
        print(f"| {label} | {value:.2f} | {value / parts['total']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
