"""What the safety net costs: the same SAC training with robot6's full callback stack
(checkpoint every episode, best, periodic, replay log, CSV, TensorBoard) against plain SB3
``model.learn`` without callbacks, in alternating A/B pairs.

    python -m benchmarks.overhead            # 5 pairs of 1,500 env steps
    python -m benchmarks.overhead --quick    # a smoke run of a few seconds

Both sides use the shipped hyperparameters, the same seed, env and number of steps, one
PyTorch thread; ``learning_starts`` is lowered so that most steps train. Reported: the
wall-time ratio (median of pairs, min-max) and where robot6 spends its time per episode.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import Logger

from robot6_sb3 import atomic, callbacks, replay_log
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.planning import TrainRequest, plan_training
from robot6_sb3.trainer import make_env, run_training

EPISODE_STEPS = 50


def plain_sb3(episodes: int, seed: int, hyperparameters: Hyperparameters) -> float:
    """Seconds of ``SAC(...).learn`` with no callbacks and SB3's default logging."""
    env = make_env("Robot6Reach-v0", {})
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, **hyperparameters.sb3_kwargs())
    start = time.perf_counter()
    model.learn(total_timesteps=episodes * EPISODE_STEPS)
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


class _Timings:
    """Seconds spent inside chosen functions, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def patched(self, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]
        for (owner, name, label), (_, _, original) in zip(targets, originals, strict=True):
            setattr(owner, name, self._timed(original, label))
        try:
            yield
        finally:
            for owner, name, original in originals:
                setattr(owner, name, original)

    def _timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        return timed


TIMED = [
    (callbacks.EpisodeCheckpointCallback, "_snapshot", "snapshot for the save (training thread)"),
    (callbacks.EpisodeCheckpointCallback, "_new_replay_rows", "replay rows copy (training thread)"),
    (callbacks, "save_checkpoint", "latest.pth write (writer thread)"),
    (callbacks, "atomic_copy", "best.pth / ckpt_ep_N.pth copy (writer thread)"),
    (replay_log.ReplayLog, "append", "buffer log segment (writer thread)"),
    (callbacks.CSVLoggerCallback, "_on_episodes_complete", "CSV row submit (training thread)"),
    (callbacks.CSVLoggerCallback, "_append", "CSV row append (writer thread)"),
    (Logger, "dump", "TensorBoard dump (training thread)"),
]


def robot6_stack(
    episodes: int, seed: int, hyperparameters: Hyperparameters, timings: _Timings
) -> float:
    """Seconds of ``learn`` inside ``robot6 train`` (set-up excluded, like the plain side)."""
    with tempfile.TemporaryDirectory() as folder:
        request = TrainRequest(
            episodes=episodes,
            seed=seed,
            checkpoints_dir=Path(folder) / "checkpoints",
            runs_dir=Path(folder) / "runs",
            overrides=hyperparameters.to_dict() | {"net_arch": hyperparameters.net_arch},
        )
        plan = plan_training(request)
        learn_time: list[float] = []
        original = SAC.learn

        def timed_learn(model: SAC, *args: Any, **kwargs: Any) -> SAC:
            start = time.perf_counter()
            try:
                return original(model, *args, **kwargs)
            finally:
                learn_time.append(time.perf_counter() - start)

        with timings.patched(TIMED):
            SAC.learn = timed_learn  # type: ignore[method-assign]
            try:
                run_training(plan)
            finally:
                SAC.learn = original  # type: ignore[method-assign]
        return learn_time[0]


def _stats(values: list[float], digits: int = 3) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run, a few seconds")
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs (median is reported)")
    parser.add_argument("--episodes", type=int, default=30, help="episodes per run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pairs, episodes = (1, 3) if args.quick else (args.pairs, args.episodes)
    hyperparameters = Hyperparameters().replace(learning_starts=100)
    if args.quick:
        hyperparameters = hyperparameters.replace(net_arch=(32, 32), batch_size=32)
    atomic.os.environ.pop(atomic.SLOW_WRITES_ENV, None)

    ratios, plain_times, stack_times = [], [], []
    timings = _Timings()
    for pair in range(pairs):
        seed = pair
        if pair % 2 == 0:  # alternate which side goes first
            plain_times.append(plain_sb3(episodes, seed, hyperparameters))
            stack_times.append(robot6_stack(episodes, seed, hyperparameters, timings))
        else:
            stack_times.append(robot6_stack(episodes, seed, hyperparameters, timings))
            plain_times.append(plain_sb3(episodes, seed, hyperparameters))
        ratios.append(stack_times[-1] / plain_times[-1])

    steps = episodes * EPISODE_STEPS
    print("## Overhead of the callback stack\n")
    print(
        f"{pairs} alternating pairs of {steps:,} env steps, net_arch={list(hyperparameters.net_arch)}.\n"
    )
    print("| side | seconds, median (min-max) | env steps/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| plain SB3 learn | {_stats(plain_times, 2)} | {steps / statistics.median(plain_times):.0f} |"
    )
    print(
        f"| robot6 stack | {_stats(stack_times, 2)} | {steps / statistics.median(stack_times):.0f} |"
    )
    print(f"\nWall-time ratio robot6 / plain: {_stats(ratios)} (target <= 1.03)\n")
    print("| where robot6 spends time | ms per episode |")
    print("| --- | ---: |")
    for _, _, label in TIMED:
        per_episode = timings.seconds[label] * 1000 / (pairs * episodes)
        print(f"| {label} | {per_episode:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
