"""Env steps per second with random actions: ``Robot6Reach-v0`` against panda-gym's reach.

Both envs are made with ``gym.make`` (same wrappers), stepped with seeded random actions and
reset when an episode ends. The repeats alternate between the envs so that a busy machine
slows both alike; the table shows the median with the min-max over the repeats.

    python -m benchmarks.env_throughput           # 5 repeats of 3,000 steps per env
    python -m benchmarks.env_throughput --quick   # a smoke run of a few seconds
"""

from __future__ import annotations

import statistics
import time

import gymnasium as gym

import robot6_envs
from benchmarks.measure import alternating_pairs, parser

PANDA_ENV_ID = "PandaReachDense-v3"
"""The panda-gym comparison env (needs ``pip install panda-gym``)."""

TARGET_RATIO = 1.5
"""Robot6Reach-v0 should step at least this many times faster than panda-gym."""


def steps_per_second(env: gym.Env, n_steps: int, seed: int) -> float:
    """Step ``env`` ``n_steps`` times with random actions; return steps per second.

    :param env: a made env (with its ``TimeLimit``).
    :param n_steps: steps to time, resets included.
    :param seed: seed of the first reset and of the action space.
    """
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(n_steps)]
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    return n_steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a markdown table; returns 0 when the target ratio holds."""
    arguments = parser(__doc__)
    arguments.add_argument("--steps", type=int, default=3_000, help="Steps per env per repeat.")
    arguments.add_argument("--repeats", type=int, default=5, help="Alternating repeats per env.")
    arguments.add_argument("--seed", type=int, default=0)
    args = arguments.parse_args(argv)
    if args.quick:
        args.steps, args.repeats = 200, 2

    import panda_gym  # noqa: F401  (registers the panda-gym envs)

    env_ids = [robot6_envs.ENV_ID, PANDA_ENV_ID]
    envs = {env_id: gym.make(env_id) for env_id in env_ids}
    rates = alternating_pairs(
        args.repeats,
        {
            env_id: lambda repeat, env=envs[env_id]: steps_per_second(
                env, args.steps, args.seed + repeat
            )
            for env_id in env_ids
        },
    )
    for env in envs.values():
        env.close()

    medians = {env_id: statistics.median(values) for env_id, values in rates.items()}
    print(f"{args.repeats} alternating repeats of {args.steps:,} random-action steps per env")
    print()
    print("| env | steps/s median | min-max |")
    print("| --- | ---: | ---: |")
    for env_id, values in rates.items():
        print(f"| {env_id} | {medians[env_id]:,.0f} | {min(values):,.0f}-{max(values):,.0f} |")
    ratio = medians[robot6_envs.ENV_ID] / medians[PANDA_ENV_ID]
    print()
    print(f"ratio {robot6_envs.ENV_ID} / {PANDA_ENV_ID}: {ratio:.2f}x (target >= {TARGET_RATIO}x)")
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
