"""Several envs per step: env steps per second of ``robot6 train --n-envs N`` against a plain
SB3 script at the same settings, and how fast SAC with HER learns ``Robot6ReachGoal-v0``.

    python -m benchmarks.vec_envs            # N = 1, 2, 4, dummy and subproc; HER seeds 0-2
    python -m benchmarks.vec_envs --quick    # a smoke run of a few seconds

1. Throughput. For every N in ``--n-envs`` and VecEnv kind in ``--vec-envs``, two commands run
   as new processes: ``robot6 train --episodes E --n-envs N --vec-env KIND`` and the plain
   script ``benchmarks/plain_sac.py`` (``make_vec_env`` of ``Monitor``-wrapped
   ``Robot6Reach-v0`` in a ``DummyVecEnv`` or ``SubprocVecEnv``, SAC with the same
   ``Hyperparameters().sb3_kwargs(...)``, no callbacks). Both train E * 50 env steps, seed 0,
   one PyTorch thread, ``learning_starts`` lowered so that most steps train. Every
   configuration runs once per pair, the order reversed every other pair. Two figures:

   - whole command: env steps / seconds from spawn to exit (imports, set-up and the last
     writes included);
   - inside ``learn``: SB3's own ``time/fps`` at the last episode's end (env steps since
     ``learn`` started / seconds since; rounded down by SB3). ``robot6 train`` logs it to the
     run's TensorBoard events, where it is read back; the plain script keeps the same value
     with an in-memory logger output.

   SB3 counts ``train_freq`` and ``gradient_steps`` in VecEnv steps: with N envs there is one
   gradient step per N env steps, so env steps/s grow with N for that reason alone.
2. Time to skill with HER: SAC on ``Robot6ReachGoal-v0`` (sparse reward) as
   ``robot6 train --env Robot6ReachGoal-v0`` builds it (the shipped ``Hyperparameters``, HER,
   one env), seeds 0-2: env steps and training seconds until the deterministic success rate
   over 50 episodes first reaches 95%, evaluated every 1,000 env steps up to 12,000; the loop
   of ``benchmarks/time_to_skill.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

import robot6_envs
from benchmarks.learnability import Schedule
from benchmarks.measure import alternating_pairs, median_range, parser
from benchmarks.throughput import CommandRun, TrainingSetup, run_plain, run_robot6
from benchmarks.time_to_skill import TABLE_HEADER, describe, robot6_runs, summary
from robot6_sb3.hyperparameters import Hyperparameters

VEC_ENV_KINDS = ("dummy", "subproc")
SIDES = ("robot6", "plain")


def throughput(
    setups: list[TrainingSetup], pairs: int
) -> dict[tuple[int, str, str], list[CommandRun]]:
    """Every setup's ``robot6 train`` and plain runs, by ``(n_envs, vec_env, side)``."""
    with tempfile.TemporaryDirectory() as folder:
        runners = {"robot6": run_robot6, "plain": run_plain}
        sides = {
            (setup.n_envs, setup.vec_env, side): (
                lambda _, setup=setup, run=runners[side]: run(setup, Path(folder))
            )
            for setup in setups
            for side in SIDES
        }
        return alternating_pairs(pairs, sides)


def print_rates(
    title: str, setups: list[TrainingSetup], rates: dict[tuple[int, str, str], list[float]]
) -> None:
    """A table of both sides' env steps/s, and the time ratio, for every setup."""
    print(f"### {title}\n")
    print(
        "| envs | VecEnv | `robot6 train` env steps/s | plain SB3 env steps/s "
        "| time ratio robot6 / plain |"
    )
    print("| ---: | --- | ---: | ---: | ---: |")
    for setup in setups:
        robot6, plain = (rates[setup.n_envs, setup.vec_env, side] for side in SIDES)
        ratios = [p / r for r, p in zip(robot6, plain, strict=True)]
        print(
            f"| {setup.n_envs} | {setup.vec_env} | {median_range(robot6, 0)} "
            f"| {median_range(plain, 0)} | {median_range(ratios, 3)} |"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    """Print the tables; returns 0 (the figures are reported, not held to a target)."""
    arguments = parser(__doc__)
    arguments.add_argument(
        "--parts", nargs="+", choices=["throughput", "skill"], default=["throughput", "skill"]
    )
    arguments.add_argument("--pairs", type=int, default=3, help="Alternating pairs per setup.")
    arguments.add_argument("--episodes", type=int, default=60, help="Episodes per command.")
    arguments.add_argument("--n-envs", type=int, nargs="+", default=[1, 2, 4])
    arguments.add_argument("--vec-envs", nargs="+", choices=VEC_ENV_KINDS, default=VEC_ENV_KINDS)
    arguments.add_argument("--learning-starts", type=int, default=500)
    arguments.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    arguments.add_argument("--max-steps", type=int, default=12_000)
    arguments.add_argument("--eval-freq", type=int, default=1_000)
    arguments.add_argument("--eval-episodes", type=int, default=50)
    args = arguments.parse_args(argv)
    overrides: dict[str, Any] = {"learning_starts": args.learning_starts}
    skill_overrides: dict[str, Any] = {}
    if args.quick:
        args.pairs, args.episodes, args.n_envs, args.vec_envs = 1, 2, [2], ["subproc"]
        overrides = {"learning_starts": 50, "net_arch": [32, 32], "batch_size": 32}
        args.seeds, args.max_steps, args.eval_freq, args.eval_episodes = [0], 200, 100, 2
        skill_overrides = {"learning_starts": 100, "net_arch": [32, 32]}
    for n_envs in args.n_envs:
        if args.episodes % n_envs:
            arguments.error(f"--episodes {args.episodes} is not a multiple of --n-envs {n_envs}")
    torch.set_num_threads(1)

    if "throughput" in args.parts:
        setups = [
            TrainingSetup(args.episodes, n_envs, vec_env, overrides)
            for n_envs in args.n_envs
            for vec_env in args.vec_envs
        ]
        runs = throughput(setups, args.pairs)
        hyperparameters = Hyperparameters.from_dict({**Hyperparameters().to_dict(), **overrides})
        steps = setups[0].steps
        print("## Training throughput with several envs\n")
        print(
            f"{args.pairs} alternating pairs per setup of {args.episodes} episodes ({steps:,} env "
            f"steps, the first {hyperparameters.learning_starts:,} random), seed 0, "
            f"hyperparameters {hyperparameters.to_dict()}, one PyTorch thread. Env steps/s and "
            "time ratio (> 1: robot6 slower) as median (min-max) of the pairs.\n"
        )
        whole = {key: [steps / run.seconds for run in done] for key, done in runs.items()}
        inside = {key: [run.learn_fps for run in done] for key, done in runs.items()}
        print_rates("Whole command (a new process: start-up, training, last writes)", setups, whole)
        print_rates("Inside `learn` (SB3's `time/fps` at the last episode's end)", setups, inside)

    if "skill" in args.parts:
        env_id = robot6_envs.GOAL_ENV_ID
        schedule = Schedule(
            total_steps=args.max_steps,
            eval_freq=args.eval_freq,
            eval_episodes=args.eval_episodes,
            stop_at_threshold=True,
        )
        print(f"## Time to skill: SAC + HER on {env_id}\n")
        print(f"{describe(schedule, env_id, skill_overrides)}; one PyTorch thread.\n")
        print(TABLE_HEADER)
        results = robot6_runs(["sac"], env_id, args.seeds, schedule, skill_overrides)
        print()
        print(summary("sac", env_id, results["sac"], args.max_steps, None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
