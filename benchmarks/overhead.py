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

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import SAC
from stable_baselines3.common.logger import Logger

from benchmarks.measure import Timings, alternating_pairs, median_range, parser
from robot6_sb3 import atomic, resumable_callback, run_files
from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.checkpoint import load_checkpoint, save_checkpoint
from robot6_sb3.episode_logs import CsvLog
from robot6_sb3.hyperparameters import Hyperparameters
from robot6_sb3.model_state import actor_is_finite, capture_networks
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


STALL_BLOCK_EPISODES = 4


def save_stalls(
    hyperparameters: Hyperparameters, repeats: int, folder: Path
) -> dict[str, list[float]]:
    """Milliseconds per episode that each part of a save adds to training, by part (see the
    module's docstring); one list entry per repeat."""
    env = make_env("Robot6Reach-v0", {})
    kwargs = hyperparameters.sb3_kwargs("sac", env)
    model = SAC("MlpPolicy", env, seed=0, verbose=0, **kwargs)
    model.learn(total_timesteps=hyperparameters.learning_starts + 2 * EPISODE_STEPS)
    config = TrainConfig(
        episodes=2,
        seed=0,
        checkpoints_dir=folder / "checkpoints",
        runs_dir=folder / "runs",
        hyperparameters=hyperparameters,
        engine="sb3",
    )
    checkpoint = load_checkpoint(run_training(plan_training(config)).paths.latest)
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    rows = {
        name: np.zeros((EPISODE_STEPS, 1, width), dtype=np.float32)
        for name, width in (("observations", 19), ("next_observations", 19), ("actions", 3))
    }
    rows.update({name: np.zeros((EPISODE_STEPS, 1), np.float32) for name in ("rewards", "dones")})
    replay = ReplayLog(folder, "stalls", "stalls")
    written = [0]

    def segment() -> None:
        replay.append(written[0], rows)
        written[0] += EPISODE_STEPS

    def whole_job() -> None:
        save_checkpoint(checkpoint, folder / "latest.pth")
        segment()

    parts: dict[str, tuple[Callable[[], None] | None, Callable[[], None] | None]] = {
        "checkpoint snapshot (training thread)": (lambda: capture_networks(model), None),
        "whole write job (writer thread)": (None, whole_job),
        "- torch.save into memory alone": (None, lambda: torch.save(checkpoint, io.BytesIO())),
        "- latest.pth's bytes to disk alone": (
            None,
            lambda: atomic.atomic_write_bytes(folder / "bytes.pth", data),
        ),
        "- replay segment alone": (None, segment),
    }
    observation = env.reset()
    writer = BackgroundWriter()

    def block(
        on_training: Callable[[], None] | None,
        job: Callable[[], None] | None,
        before_action: Callable[[], object] | None = None,
    ) -> float:
        start = time.perf_counter()
        for _ in range(STALL_BLOCK_EPISODES):
            for _ in range(EPISODE_STEPS):
                if before_action is not None:
                    before_action()
                model.predict(observation)
                model.train(gradient_steps=1, batch_size=hyperparameters.batch_size)
            if on_training is not None:
                on_training()
            if job is not None:
                writer.submit(job)
        writer.flush()
        return time.perf_counter() - start

    measured: dict[str, Callable[[], float]] = {
        name: (lambda on_training=on_training, job=job: block(on_training, job))
        for name, (on_training, job) in parts.items()
        if on_training is not None or job is not None
    }
    measured["finite weights check"] = lambda: block(None, None, lambda: actor_is_finite(model))
    stalls: dict[str, list[float]] = {name: [] for name in measured}
    try:
        # Each part runs between two blocks without it, and counts against their mean: the
        # machine's speed drifts more over a repeat than over three blocks.
        for _ in range(repeats):
            before = block(None, None)
            for name, timed in measured.items():
                seconds = timed()
                after = block(None, None)
                stalls[name].append((seconds - (before + after) / 2) * 1000 / STALL_BLOCK_EPISODES)
                before = after
    finally:
        writer.close()
        env.close()
    return stalls


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--pairs", type=int, default=5, help="A/B pairs (median is reported)")
    arguments.add_argument("--episodes", type=int, default=30, help="episodes per run")
    arguments.add_argument(
        "--stall-repeats", type=int, default=11, help="repeats of the per-part stall blocks"
    )
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

    repeats = 1 if args.quick else args.stall_repeats
    with tempfile.TemporaryDirectory() as folder:
        stalls = save_stalls(hyperparameters, repeats, Path(folder))
    print("\n### What each part costs the training thread\n")
    print(
        f"{repeats} alternating repeats of blocks of {STALL_BLOCK_EPISODES} episodes "
        f"({STALL_BLOCK_EPISODES * EPISODE_STEPS} gradient steps and actions), with and without "
        "the part; extra ms per episode, median (min-max).\n"
    )
    print("| part of the save | ms per episode |")
    print("| --- | ---: |")
    for name, values in stalls.items():
        print(f"| {name} | {median_range(values)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
