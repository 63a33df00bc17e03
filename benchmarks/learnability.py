"""How fast plain SB3 SAC learns ``Robot6Reach-v0`` with the default ``Hyperparameters``.

Every ``--eval-freq`` env steps, a deterministic evaluation of ``--eval-episodes`` episodes on a
separate env (reset with a fixed seed, so every evaluation sees the same targets) measures the
success rate: the share of episodes whose last step has ``info["is_success"]``. Reported per
seed: the env steps until the success rate first reaches ``--threshold``, and the wall time.

    python -m benchmarks.learnability            # seeds 0 1 2, 10,000 steps each
    python -m benchmarks.learnability --panda    # also SB3-default SAC on PandaReachDense-v3
    python -m benchmarks.learnability --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import robot6_envs
from robot6_sb3.evaluation import evaluate_policy
from robot6_sb3.hyperparameters import Hyperparameters

PANDA_ENV_ID = "PandaReachDense-v3"
"""The panda-gym comparison env (needs ``pip install panda-gym``)."""


@dataclass
class SeedResult:
    """One training run: success rate after every evaluation."""

    env_id: str
    seed: int
    eval_steps: list[int] = field(default_factory=list)
    success_rates: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    train_s: float = 0.0
    """Seconds inside ``learn`` only (evaluations excluded)."""
    steps_to_threshold: int | None = None
    wall_s_to_threshold: float | None = None
    train_s_to_threshold: float | None = None


def train_and_evaluate(
    env_id: str,
    seed: int,
    total_steps: int,
    eval_freq: int,
    eval_episodes: int,
    eval_seed: int,
    threshold: float,
    model_kwargs: dict[str, Any],
    policy: str,
    stop_at_threshold: bool,
    algo: type[OffPolicyAlgorithm] = SAC,
) -> SeedResult:
    """Train ``algo`` (SAC by default) on ``env_id`` for ``total_steps``, evaluating every
    ``eval_freq`` steps."""
    env = Monitor(gym.make(env_id))
    model = algo(policy, env, seed=seed, **model_kwargs)
    result = SeedResult(env_id=env_id, seed=seed)
    start = time.perf_counter()
    while model.num_timesteps < total_steps:
        learn_start = time.perf_counter()
        model.learn(total_timesteps=eval_freq, reset_num_timesteps=False)
        result.train_s += time.perf_counter() - learn_start
        rate = evaluate_policy(model, env_id, episodes=eval_episodes, seed=eval_seed).success_rate
        elapsed = time.perf_counter() - start
        print(
            f"  {env_id} seed {seed}: {model.num_timesteps} steps, {elapsed:.0f} s, success {rate:.0%}",
            file=sys.stderr,
            flush=True,
        )
        result.eval_steps.append(model.num_timesteps)
        result.success_rates.append(rate)
        if rate >= threshold and result.steps_to_threshold is None:
            result.steps_to_threshold = model.num_timesteps
            result.wall_s_to_threshold = time.perf_counter() - start
            result.train_s_to_threshold = result.train_s
            if stop_at_threshold:
                break
    result.wall_s = time.perf_counter() - start
    env.close()
    return result


def _format_result(result: SeedResult, threshold: float) -> str:
    if result.steps_to_threshold is None:
        reached = f"not reached (best {max(result.success_rates):.0%})"
    else:
        reached = f"{result.steps_to_threshold:,} steps ({result.wall_s_to_threshold:.0f} s)"
    curve = " ".join(f"{rate:.2f}" for rate in result.success_rates)
    return (
        f"| {result.env_id} | {result.seed} | {reached} | {result.success_rates[-1]:.0%} | "
        f"{result.wall_s:.0f} s | {curve} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown table; returns 0 when every seed hit the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--total-steps", type=int, default=10_000)
    parser.add_argument("--eval-freq", type=int, default=1_000)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--eval-seed", type=int, default=12_345)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads value.")
    parser.add_argument(
        "--stop-at-threshold", action="store_true", help="Stop a seed once it hits the target."
    )
    parser.add_argument(
        "--panda", action="store_true", help="Also train SB3-default SAC on PandaReachDense-v3."
    )
    parser.add_argument("--panda-steps", type=int, default=8_000)
    parser.add_argument(
        "--panda-seeds", type=int, nargs="+", default=None, help="Default: the --seeds."
    )
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=JSON",
        help="Override Hyperparameters fields, e.g. --set net_arch=[64,64] learning_starts=500.",
    )
    parser.add_argument("--quick", action="store_true", help="A smoke run of a few seconds.")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.total_steps, args.eval_freq, args.eval_episodes = [0], 200, 100, 2
        args.panda_steps = 200

    torch.set_num_threads(args.threads)
    overrides = dict(item.split("=", 1) for item in args.set)
    hyperparameters = Hyperparameters.from_dict(
        {**Hyperparameters().to_dict(), **{key: json.loads(v) for key, v in overrides.items()}}
    )
    robot6_kwargs = hyperparameters.sb3_kwargs()
    if args.quick:
        robot6_kwargs["learning_starts"] = 100
    print(f"Hyperparameters: {hyperparameters.to_dict()}; torch threads: {args.threads}")
    print()
    print("| env | seed | steps to threshold (wall) | final success | wall | success curve |")
    print("| --- | --- | --- | --- | --- | --- |")
    results = []
    for seed in args.seeds:
        result = train_and_evaluate(
            robot6_envs.ENV_ID,
            seed,
            args.total_steps,
            args.eval_freq,
            args.eval_episodes,
            args.eval_seed,
            args.threshold,
            robot6_kwargs,
            "MlpPolicy",
            args.stop_at_threshold,
        )
        results.append(result)
        print(_format_result(result, args.threshold), flush=True)
    if args.panda:
        import panda_gym  # noqa: F401  (registers the panda-gym envs)

        panda_kwargs: dict[str, Any] = {"learning_starts": 100} if args.quick else {}
        for seed in args.panda_seeds or args.seeds:
            result = train_and_evaluate(
                PANDA_ENV_ID,
                seed,
                args.panda_steps,
                args.eval_freq,
                args.eval_episodes,
                args.eval_seed,
                args.threshold,
                panda_kwargs,
                "MultiInputPolicy",
                args.stop_at_threshold,
            )
            print(_format_result(result, args.threshold), flush=True)
    reached = [r.steps_to_threshold for r in results if r.steps_to_threshold is not None]
    print()
    print(
        f"{robot6_envs.ENV_ID}: {len(reached)}/{len(results)} seeds reached "
        f"{args.threshold:.0%} within {args.total_steps:,} steps"
        + (f"; median {statistics.median(reached):,.0f} steps" if reached else "")
        + f"; total wall {sum(r.wall_s for r in results):.0f} s"
    )
    if args.quick:
        return 0  # a smoke run trains far too briefly for the target to mean anything
    return 0 if len(reached) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
