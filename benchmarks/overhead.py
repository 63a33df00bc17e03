"""What the safety net costs: the same SAC training with robot6's full callback stack
(checkpoint every episode, best, periodic, replay log, CSV, TensorBoard) against plain SB3
``model.learn`` without callbacks, in alternating A/B pairs.

    python -m benchmarks.overhead            # 5 pairs of 1,500 env steps
    python -m benchmarks.overhead --quick    # a smoke run of a few seconds

Both sides use the shipped hyperparameters, the same seed, env and number of steps, one
PyTorch thread, and SB3's own update (robot6 with ``engine="sb3"``: what the fast engine
gains is ``benchmarks/engine.py``'s subject); ``learning_starts`` is lowered so that most
steps train. Reported: the wall-time ratio (median of pairs, min-max) and where robot6
spends its time per episode:
``ResumableCheckpointCallback._save`` on the training thread (with its replay-rows copy and
``build_checkpoint`` snapshot), SB3's logger dump (which writes TensorBoard), and the save's
write job ``RunFiles._save`` on the writer thread (with the CSV append, the replay segment,
``latest.pth`` and its copies). The CSV header, written once when the log opens, counts with
the CSV appends.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import Logger

from benchmarks.measure import Timings, alternating_pairs, median_range, parser
from robot6_sb3 import atomic, resumable_callback, run_files
from robot6_sb3.episode_logs import CsvLog
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.planning import plan_training
from robot6_sb3.replay_log import ReplayLog
from robot6_sb3.replay_recorder import ReplayRecorder
from robot6_sb3.resumable_callback import ResumableCheckpointCallback
from robot6_sb3.run_files import RunFiles
from robot6_sb3.trainer import run_training
from robot6_sb3.training_config import TrainConfig
from robot6_sb3.vec_env import make_env

EPISODE_STEPS = 50


def plain_sb3(episodes: int, seed: int, hyperparameters: Hyperparameters) -> float:
    """Seconds of ``SAC(...).learn`` with no callbacks and SB3's default logging."""
    env = make_env("Robot6Reach-v0", {})
    kwargs = hyperparameters.sb3_kwargs("sac", env)
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, **kwargs)
    start = time.perf_counter()
    model.learn(total_timesteps=episodes * EPISODE_STEPS)
    elapsed = time.perf_counter() - start
    env.close()
    return elapsed


TIMED = [
    (ResumableCheckpointCallback, "_save", "whole save, `_save` (training thread)"),
    (ReplayRecorder, "new_rows", "- of it: replay rows copy (training thread)"),
    (resumable_callback, "build_checkpoint", "- of it: checkpoint snapshot (training thread)"),
    (Logger, "dump", "TensorBoard dump (training thread)"),
    (RunFiles, "_save", "whole write job, `RunFiles._save` (writer thread)"),
    (CsvLog, "append", "CSV row append (writer thread)"),
    (ReplayLog, "append", "replay log segment (writer thread)"),
    (run_files, "save_checkpoint", "latest.pth write (writer thread)"),
    (run_files, "atomic_copy", "best.pth / ckpt_ep_N.pth copy (writer thread)"),
]


def robot6_stack(
    episodes: int, seed: int, hyperparameters: Hyperparameters, timings: Timings
) -> float:
    """Seconds of ``learn`` inside ``robot6 train`` (set-up excluded, like the plain side)."""
    with tempfile.TemporaryDirectory() as folder:
        config = TrainConfig(
            episodes=episodes,
            seed=seed,
            checkpoints_dir=Path(folder) / "checkpoints",
            runs_dir=Path(folder) / "runs",
            hyperparameters=hyperparameters,
            engine="sb3",
        )
        plan = plan_training(config)
        learn = Timings()
        with timings.patched(TIMED), learn.patched([(SAC, "learn", "learn")]):
            run_training(plan)
        return learn.total("learn")


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--pairs", type=int, default=5, help="A/B pairs (median is reported)")
    arguments.add_argument("--episodes", type=int, default=30, help="episodes per run")
    args = arguments.parse_args(argv)
    torch.set_num_threads(1)
    pairs, episodes = (1, 3) if args.quick else (args.pairs, args.episodes)
    hyperparameters = Hyperparameters().replace(learning_starts=100)
    if args.quick:
        hyperparameters = hyperparameters.replace(net_arch=(32, 32), batch_size=32)
    atomic.os.environ.pop(atomic.SLOW_WRITES_ENV, None)

    timings = Timings()
    # The seed is the pair's index: each pair compares the same run.
    times = alternating_pairs(
        pairs,
        {
            "plain": lambda pair: plain_sb3(episodes, pair, hyperparameters),
            "robot6": lambda pair: robot6_stack(episodes, pair, hyperparameters, timings),
        },
    )
    plain_times, stack_times = times["plain"], times["robot6"]
    never_called = [label for _, _, label in TIMED if not timings.calls[label]]
    if never_called:
        raise RuntimeError(f"TIMED is out of date: robot6 never called {never_called}")
    ratios = [stack / plain for stack, plain in zip(stack_times, plain_times, strict=True)]

    steps = episodes * EPISODE_STEPS
    print("## Overhead of the callback stack\n")
    print(
        f"{pairs} alternating pairs of {steps:,} env steps, net_arch={list(hyperparameters.net_arch)}.\n"
    )
    print("| side | seconds, median (min-max) | env steps/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| plain SB3 learn | {median_range(plain_times)} | {steps / statistics.median(plain_times):.0f} |"
    )
    print(
        f"| robot6 stack | {median_range(stack_times)} | {steps / statistics.median(stack_times):.0f} |"
    )
    print(f"\nWall-time ratio robot6 / plain: {median_range(ratios, 3)} (target <= 1.03)\n")
    print("| where robot6 spends time | ms per episode |")
    print("| --- | ---: |")
    for _, _, label in TIMED:
        per_episode = timings.total(label) * 1000 / (pairs * episodes)
        print(f"| {label} | {per_episode:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
