"""Time to skill: env steps and wall time until a 50-episode deterministic evaluation reaches
95% success, SAC and TQC with the shipped ``Hyperparameters`` on ``Robot6Reach-v0``, side by
side with SB3-default SAC and TQC on panda-gym's ``PandaReachDense-v3``.

    python -m benchmarks.time_to_skill            # robot6 SAC seeds 0-9, panda seed 0
    python -m benchmarks.time_to_skill --quick    # a smoke run of a few seconds
    python -m benchmarks.time_to_skill --env Robot6ReachGoal-v0 --algos sac --panda-seeds

Each run trains plain SB3 (``SAC`` / ``sb3_contrib.TQC``, one PyTorch thread, no callbacks)
and stops at the first evaluation that reaches the threshold (or at ``--max-steps``); the
robot6 side is the model ``robot6 train --env ENV`` builds for a new run (HER on the
goal-conditioned ``Robot6ReachGoal-v0``). Evaluations run every ``--eval-freq`` env steps on a
separate env reset with a fixed seed (the same targets every time); see
``benchmarks/learnability.py``. Wall time to skill counts training only (inside ``learn``),
because a user's run does not stop to evaluate; the total with evaluations is shown beside it.
The targets hold for ``Robot6Reach-v0``: at least :data:`TARGET_SHARE` of the seeds within
:data:`TARGET_STEPS` env steps, and a median training time to the threshold of at most
:data:`TARGET_SECONDS`; with another ``--env``, every seed should reach the threshold within
``--max-steps``.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
from typing import Any

import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

import robot6_envs
from benchmarks.learnability import (
    PANDA_ENV_ID,
    Schedule,
    SeedResult,
    robot6_model,
    sb3_default_model,
    train_and_evaluate,
)
from benchmarks.measure import parser
from robot6_sb3.planning import robot6_env_ids
from robot6_sb3.training_config import TrainConfig

ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": SAC, "tqc": TQC}

TARGET_STEPS = 5_000
"""Env steps within which a seed should reach the threshold..."""
TARGET_SHARE = 0.8
"""... for at least this share of the seeds (8 of seeds 0-9) ..."""
TARGET_SECONDS = 25.0
"""... with a median training time to the threshold of at most this, on the 2-core benchmark
machine, one PyTorch thread."""

TABLE_HEADER = (
    "| algo | env | seed | env steps to threshold | training wall to threshold "
    "| wall incl. evals | success every eval |\n"
    "| --- | --- | --- | ---: | ---: | ---: | --- |"
)


def describe(schedule: Schedule, env_id: str, overrides: dict[str, Any]) -> str:
    """The settings of a time-to-skill table, in a sentence."""
    hyperparameters = TrainConfig.from_options(env_id=env_id, **overrides).hyperparameters.to_dict()
    return (
        f"Threshold {schedule.threshold:.0%} success over {schedule.eval_episodes} deterministic "
        f"episodes, evaluated every {schedule.eval_freq:,} env steps up to "
        f"{schedule.total_steps:,}; robot6 hyperparameters {hyperparameters}"
    )


def skill_row(algo: str, label: str, result: SeedResult) -> str:
    """One row under :data:`TABLE_HEADER`."""
    if result.steps_to_threshold is None:
        steps = f"not reached in {result.eval_steps[-1]:,} (best {max(result.success_rates):.0%})"
        train = f"({result.train_s:.0f} s trained)"
    else:
        steps = f"{result.steps_to_threshold:,}"
        train = f"{result.train_s_to_threshold:.0f} s"
    curve = " ".join(f"{rate:.2f}" for rate in result.success_rates)
    return (
        f"| {algo.upper()} | {label} | {result.seed} | {steps} | {train} | "
        f"{result.wall_s:.0f} s | {curve} |"
    )


def robot6_runs(
    algos: list[str], env_id: str, seeds: list[int], schedule: Schedule, overrides: dict[str, Any]
) -> dict[str, list[SeedResult]]:
    """Train every algo and seed as ``robot6 train --env ENV_ID`` would, until skilled or out of
    steps; prints one table row per run as it ends."""
    results: dict[str, list[SeedResult]] = {}
    for algo in algos:
        for seed in seeds:
            model = robot6_model(env_id, algo, seed, overrides)
            her = ", HER" if isinstance(model.replay_buffer, HerReplayBuffer) else ""
            result = train_and_evaluate(model, env_id, schedule)
            results.setdefault(algo, []).append(result)
            print(skill_row(algo, f"{env_id} (robot6 defaults{her})", result), flush=True)
    return results


def within(result: SeedResult, steps: int) -> bool:
    """Whether ``result`` reached the threshold within ``steps`` env steps."""
    return result.steps_to_threshold is not None and result.steps_to_threshold <= steps


def median_seconds(results: list[SeedResult]) -> float | None:
    """The median training time to the threshold of the seeds that reached it."""
    reached = [r.train_s_to_threshold or 0.0 for r in results if r.steps_to_threshold is not None]
    return statistics.median(reached) if reached else None


def met_targets(results: list[SeedResult], steps: int, share: float, seconds: float | None) -> bool:
    """At least ``share`` of the seeds within ``steps``, and (``seconds`` given) a median
    training time to the threshold of at most ``seconds``."""
    enough = sum(within(result, steps) for result in results) >= share * len(results)
    median = median_seconds(results)
    return enough and (seconds is None or (median is not None and median <= seconds))


def summary(
    algo: str, env_id: str, results: list[SeedResult], steps: int, seconds: float | None
) -> str:
    """How many seeds reached the threshold within ``steps``, and the medians of those that
    reached it at all."""
    met = sum(within(result, steps) for result in results)
    text = f"{algo.upper()} on {env_id}: {met}/{len(results)} seeds within {steps:,} steps"
    reached = [r for r in results if r.steps_to_threshold is not None]
    if reached:
        median_steps = statistics.median(r.steps_to_threshold or 0 for r in reached)
        text += f"; median {median_steps:,.0f} steps, {median_seconds(results):.0f} s of training"
        if seconds is not None:
            text += f" (target <= {seconds:.0f} s)"
    return f"- {text}"


def main(argv: list[str] | None = None) -> int:
    """Print the markdown table; returns 0 when every robot6 seed met both targets."""
    arguments = parser(__doc__)
    arguments.add_argument("--env", choices=robot6_env_ids(), default=robot6_envs.ENV_ID)
    arguments.add_argument("--algos", nargs="+", choices=sorted(ALGORITHMS), default=["sac"])
    arguments.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    arguments.add_argument("--max-steps", type=int, default=TARGET_STEPS)
    arguments.add_argument("--eval-freq", type=int, default=1_000)
    arguments.add_argument("--eval-episodes", type=int, default=50)
    arguments.add_argument("--eval-seed", type=int, default=12_345)
    arguments.add_argument("--threshold", type=float, default=0.95)
    arguments.add_argument("--panda-seeds", type=int, nargs="*", default=[0])
    arguments.add_argument("--panda-steps", type=int, default=5_000)
    args = arguments.parse_args(argv)
    overrides: dict[str, Any] = {}
    panda_kwargs: dict[str, Any] = {}
    if args.quick:
        args.seeds, args.max_steps, args.eval_freq, args.eval_episodes = [0], 200, 100, 2
        args.panda_seeds, args.panda_steps = [0], 100
        overrides = {"learning_starts": 100, "net_arch": [32, 32]}
        panda_kwargs = {"learning_starts": 50, "policy_kwargs": {"net_arch": [32, 32]}}
    torch.set_num_threads(1)
    schedule = Schedule(
        total_steps=args.max_steps,
        eval_freq=args.eval_freq,
        eval_episodes=args.eval_episodes,
        eval_seed=args.eval_seed,
        threshold=args.threshold,
        stop_at_threshold=True,
    )

    panda = ""
    if args.panda_seeds:
        changed = f" except {panda_kwargs}" if panda_kwargs else ""
        panda = f"; panda-gym: SB3 defaults{changed}, up to {args.panda_steps:,} steps"
    print(f"{describe(schedule, args.env, overrides)}{panda}; one PyTorch thread.\n")
    print(TABLE_HEADER)
    robot6 = robot6_runs(args.algos, args.env, args.seeds, schedule, overrides)
    if args.panda_seeds:
        import panda_gym  # noqa: F401  (registers the panda-gym envs)

        panda_schedule = dataclasses.replace(schedule, total_steps=args.panda_steps)
        for algo in args.algos:
            for seed in args.panda_seeds:
                model = sb3_default_model(PANDA_ENV_ID, ALGORITHMS[algo], seed, panda_kwargs)
                result = train_and_evaluate(model, PANDA_ENV_ID, panda_schedule)
                print(skill_row(algo, f"{PANDA_ENV_ID} (SB3 defaults)", result), flush=True)
    print()
    # The targets are the flat env's; another env's is to reach the threshold at all.
    targeted = args.env == robot6_envs.ENV_ID
    steps, share, seconds = (
        (TARGET_STEPS, TARGET_SHARE, TARGET_SECONDS) if targeted else (args.max_steps, 1.0, None)
    )
    for algo, results in robot6.items():
        print(summary(algo, args.env, results, steps, seconds))
    if args.quick:
        return 0  # a smoke run trains far too briefly for the target to mean anything
    met = [met_targets(results, steps, share, seconds) for results in robot6.values()]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
