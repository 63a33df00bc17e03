"""How fast SAC learns ``Robot6Reach-v0`` with the default ``Hyperparameters``: the model
``robot6 train`` builds, trained by plain SB3 ``learn`` without callbacks.

Every ``--eval-freq`` env steps, a deterministic evaluation of ``--eval-episodes`` episodes on a
separate env (reset with a fixed seed, so every evaluation sees the same targets) measures the
success rate: the share of episodes whose last step has ``info["is_success"]``. Reported per
seed: the env steps until the success rate first reaches ``--threshold``, and the wall time.

    python -m benchmarks.learnability            # seeds 0 1 2, 10,000 steps each
    python -m benchmarks.learnability --panda    # also SB3-default SAC on PandaReachDense-v3
    python -m benchmarks.learnability --quick    # a smoke run of a few seconds
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import robot6_envs
from benchmarks.measure import parser
from robot6_sb3.evaluation import evaluate_policy
from robot6_sb3.planning import plan_training
from robot6_sb3.trainer import build_model
from robot6_sb3.training_config import TrainConfig
from robot6_sb3.vec_env import make_env

PANDA_ENV_ID = "PandaReachDense-v3"
"""The panda-gym comparison env (needs ``pip install panda-gym``)."""


@dataclass(frozen=True)
class Schedule:
    """How long a run trains and how it is evaluated."""

    total_steps: int
    """Env steps at most."""
    eval_freq: int = 1_000
    """Env steps between two evaluations."""
    eval_episodes: int = 50
    eval_seed: int = 12_345
    """Seed of the evaluation env's first reset: every evaluation sees the same targets."""
    threshold: float = 0.95
    """Success rate that counts as skilled."""
    stop_at_threshold: bool = False


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


def robot6_model(
    env_id: str, algo: str, seed: int, overrides: dict[str, Any]
) -> OffPolicyAlgorithm:
    """The model ``robot6 train --env ENV_ID --algo ALGO --seed SEED`` starts a new run with:
    the shipped ``Hyperparameters`` with ``overrides`` (and HER on goal-conditioned envs), on
    one env.

    :raises UsageError: for overrides ``robot6 train`` would refuse
    """
    config = TrainConfig.from_options(env_id=env_id, algo=algo, seed=seed, **overrides)
    plan = plan_training(config)
    return build_model(plan, make_env(plan.env_id, plan.env_kwargs), config.device)


def sb3_default_model(
    env_id: str, algo: type[OffPolicyAlgorithm], seed: int, kwargs: dict[str, Any]
) -> OffPolicyAlgorithm:
    """``algo`` with SB3's defaults (changed by ``kwargs``) on one ``Monitor``-wrapped env."""
    env = Monitor(gym.make(env_id))
    policy = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    return algo(policy, env, seed=seed, **kwargs)


def train_and_evaluate(model: OffPolicyAlgorithm, env_id: str, schedule: Schedule) -> SeedResult:
    """Train ``model`` (on ``env_id``) for ``schedule.total_steps``, evaluating every
    ``schedule.eval_freq`` steps; closes the model's env at the end."""
    result = SeedResult(env_id=env_id, seed=int(model.seed or 0))
    start = time.perf_counter()
    while model.num_timesteps < schedule.total_steps:
        learn_start = time.perf_counter()
        model.learn(total_timesteps=schedule.eval_freq, reset_num_timesteps=False)
        result.train_s += time.perf_counter() - learn_start
        rate = evaluate_policy(
            model, env_id, episodes=schedule.eval_episodes, seed=schedule.eval_seed
        ).success_rate
        elapsed = time.perf_counter() - start
        print(
            f"  {env_id} seed {result.seed}: {model.num_timesteps} steps, {elapsed:.0f} s, "
            f"success {rate:.0%}",
            file=sys.stderr,
            flush=True,
        )
        result.eval_steps.append(model.num_timesteps)
        result.success_rates.append(rate)
        if rate >= schedule.threshold and result.steps_to_threshold is None:
            result.steps_to_threshold = model.num_timesteps
            result.wall_s_to_threshold = time.perf_counter() - start
            result.train_s_to_threshold = result.train_s
            if schedule.stop_at_threshold:
                break
    result.wall_s = time.perf_counter() - start
    env = model.get_env()
    if env is not None:
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
    arguments = parser(__doc__)
    arguments.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments.add_argument("--total-steps", type=int, default=10_000)
    arguments.add_argument("--eval-freq", type=int, default=1_000)
    arguments.add_argument("--eval-episodes", type=int, default=50)
    arguments.add_argument("--eval-seed", type=int, default=12_345)
    arguments.add_argument("--threshold", type=float, default=0.95)
    arguments.add_argument("--threads", type=int, default=1, help="torch.set_num_threads value.")
    arguments.add_argument(
        "--stop-at-threshold", action="store_true", help="Stop a seed once it hits the target."
    )
    arguments.add_argument(
        "--panda", action="store_true", help="Also train SB3-default SAC on PandaReachDense-v3."
    )
    arguments.add_argument("--panda-steps", type=int, default=8_000)
    arguments.add_argument(
        "--panda-seeds", type=int, nargs="+", default=None, help="Default: the --seeds."
    )
    arguments.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="FIELD=JSON",
        help="Override Hyperparameters fields, e.g. --set net_arch=[64,64] learning_starts=500.",
    )
    args = arguments.parse_args(argv)
    if args.quick:
        args.seeds, args.total_steps, args.eval_freq, args.eval_episodes = [0], 200, 100, 2
        args.panda_steps = 200

    torch.set_num_threads(args.threads)
    overrides = {key: json.loads(value) for key, value in (i.split("=", 1) for i in args.set)}
    if args.quick:
        overrides["learning_starts"] = 100
    schedule = Schedule(
        total_steps=args.total_steps,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        eval_seed=args.eval_seed,
        threshold=args.threshold,
        stop_at_threshold=args.stop_at_threshold,
    )
    hyperparameters = TrainConfig.from_options(**overrides).hyperparameters
    print(f"Hyperparameters: {hyperparameters.to_dict()}; torch threads: {args.threads}")
    print()
    print("| env | seed | steps to threshold (wall) | final success | wall | success curve |")
    print("| --- | --- | --- | --- | --- | --- |")
    results = []
    for seed in args.seeds:
        model = robot6_model(robot6_envs.ENV_ID, "sac", seed, overrides)
        result = train_and_evaluate(model, robot6_envs.ENV_ID, schedule)
        results.append(result)
        print(_format_result(result, args.threshold), flush=True)
    if args.panda:
        import panda_gym  # noqa: F401  (registers the panda-gym envs)

        panda_kwargs: dict[str, Any] = {"learning_starts": 100} if args.quick else {}
        panda_schedule = dataclasses.replace(schedule, total_steps=args.panda_steps)
        for seed in args.panda_seeds or args.seeds:
            model = sb3_default_model(PANDA_ENV_ID, SAC, seed, panda_kwargs)
            result = train_and_evaluate(model, PANDA_ENV_ID, panda_schedule)
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
