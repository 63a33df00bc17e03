"""Time to skill: env steps and wall time until a 50-episode deterministic evaluation reaches
95% success, SAC and TQC with the shipped ``Hyperparameters`` on ``Robot6Reach-v0``, side by
side with SB3-default SAC and TQC on panda-gym's ``PandaReachDense-v3``.

    python -m benchmarks.time_to_skill            # robot6 seeds 0-2, panda seed 0
    python -m benchmarks.time_to_skill --quick    # a smoke run of a few seconds

Each run trains plain SB3 (``SAC`` / ``sb3_contrib.TQC``, one PyTorch thread) and stops at the
first evaluation that reaches the threshold (or at ``--max-steps``). Evaluations run every
``--eval-freq`` env steps on a separate env reset with a fixed seed (the same targets every
time); see ``benchmarks/learnability.py``. Wall time to skill counts training only (inside
``learn``), because a user's run does not stop to evaluate; the total with evaluations is shown
beside it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any

import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

import robot6_envs
from benchmarks.learnability import PANDA_ENV_ID, SeedResult, train_and_evaluate
from robot6_sb3.hyperparameters import Hyperparameters

ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": SAC, "tqc": TQC}

TARGET_STEPS = 10_000
"""Every robot6 seed should reach the threshold within this many env steps..."""
TARGET_SECONDS = 180.0
"""... and within this much training wall time on the 2-core benchmark machine."""


def _row(algo: str, label: str, result: SeedResult) -> str:
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


def main(argv: list[str] | None = None) -> int:
    """Print the markdown table; returns 0 when every robot6 seed met both targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", choices=sorted(ALGORITHMS), default=["sac", "tqc"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-steps", type=int, default=TARGET_STEPS)
    parser.add_argument("--eval-freq", type=int, default=1_000)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--eval-seed", type=int, default=12_345)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--panda-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--panda-steps", type=int, default=5_000)
    parser.add_argument("--quick", action="store_true", help="A smoke run of a few seconds.")
    args = parser.parse_args(argv)
    robot6_kwargs: dict[str, Any] = Hyperparameters().sb3_kwargs()
    panda_kwargs: dict[str, Any] = {}
    if args.quick:
        args.seeds, args.max_steps, args.eval_freq, args.eval_episodes = [0], 200, 100, 2
        args.panda_seeds, args.panda_steps = [0], 100
        robot6_kwargs |= {"learning_starts": 100, "policy_kwargs": {"net_arch": [32, 32]}}
        panda_kwargs = {"learning_starts": 50, "policy_kwargs": {"net_arch": [32, 32]}}
    torch.set_num_threads(1)

    print(
        f"Threshold {args.threshold:.0%} success over {args.eval_episodes} deterministic episodes, "
        f"evaluated every {args.eval_freq:,} env steps; robot6 SB3 arguments {robot6_kwargs}; "
        f"panda-gym: SB3 defaults{f' except {panda_kwargs}' if panda_kwargs else ''}; "
        "one PyTorch thread.\n"
    )
    print(
        "| algo | env | seed | env steps to threshold | training wall to threshold "
        "| wall incl. evals | success every eval |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    met: dict[str, list[bool]] = {}
    robot6: dict[str, list[SeedResult]] = {}
    for algo in args.algos:
        for seed in args.seeds:
            result = train_and_evaluate(
                robot6_envs.ENV_ID,
                seed,
                args.max_steps,
                args.eval_freq,
                args.eval_episodes,
                args.eval_seed,
                args.threshold,
                robot6_kwargs,
                "MlpPolicy",
                stop_at_threshold=True,
                algo=ALGORITHMS[algo],
            )
            robot6.setdefault(algo, []).append(result)
            met.setdefault(algo, []).append(
                result.steps_to_threshold is not None
                and result.steps_to_threshold <= TARGET_STEPS
                and (result.train_s_to_threshold or 0.0) <= TARGET_SECONDS
            )
            print(_row(algo, f"{robot6_envs.ENV_ID} (robot6 defaults)", result), flush=True)
    if args.panda_seeds:
        import panda_gym  # noqa: F401  (registers the panda-gym envs)

        for algo in args.algos:
            for seed in args.panda_seeds:
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
                    stop_at_threshold=True,
                    algo=ALGORITHMS[algo],
                )
                print(_row(algo, f"{PANDA_ENV_ID} (SB3 defaults)", result), flush=True)
    print()
    for algo, results in robot6.items():
        reached = [r for r in results if r.steps_to_threshold is not None]
        summary = f"{algo.upper()} on {robot6_envs.ENV_ID}: {sum(met[algo])}/{len(results)} seeds"
        summary += f" within {TARGET_STEPS:,} steps and {TARGET_SECONDS:.0f} s of training"
        if reached:
            steps = statistics.median(r.steps_to_threshold or 0 for r in reached)
            seconds = statistics.median(r.train_s_to_threshold or 0.0 for r in reached)
            summary += f"; median {steps:,.0f} steps, {seconds:.0f} s"
        print(f"- {summary}")
    if args.quick:
        return 0  # a smoke run trains far too briefly for the target to mean anything
    return 0 if all(all(flags) for flags in met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
