"""What the exact-resume safety net costs: per-episode save time against the buffer's size,
disk per 100k transitions, ``latest.pth`` size, and resume latency.

    python -m benchmarks.checkpoint_cost           # 1k, 100k and 1M transitions
    python -m benchmarks.checkpoint_cost --quick   # a smoke run of a few seconds

Saves are timed through a real ``ResumableCheckpointCallback`` on a model built as
``robot6 train`` builds it (shipped hyperparameters, a buffer of 1M transitions), whose buffer
was first filled with N random transitions as if the run had trained that long. Each timed
``learn`` plays one episode and ends with its save; every save is made a new best, so it
writes a replay segment, ``latest.pth`` and ``best.pth`` (the worst case). ``learning_starts``
is set beyond the run, so the episodes take random actions and skip the gradient steps, which
change nothing the save writes. The sizes are interleaved and repeated; reported are medians
with min-max, on the training thread (``_save``: replay rows copy, snapshot, hand-over) and on
the writer thread (``RunFiles._save``: the same save's file writes, which the training thread would
wait for without it). The first save of each run, which logs every transition the buffer held
before the callback came (one large segment), is not timed.

Resume latency: seconds from the start of ``robot6 train --resume`` (a new process) to its
first env step, resuming those runs, against a new run's ``robot6 train``. The command runs
as it is, inside a wrapper of this module (``--first-step``) that notes the first step and
stops training there.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from benchmarks.measure import Timings, median_range, parser, run_timed
from robot6_sb3 import ResumableCheckpointCallback
from robot6_sb3.planning import plan_training
from robot6_sb3.replay_log import ReplayLog
from robot6_sb3.replay_rows import fill_buffer, rows_since
from robot6_sb3.trainer import build_model, run_training
from robot6_sb3.training_config import TrainConfig
from robot6_sb3.vec_env import make_env

EPISODE_STEPS = 50
RUN_NAME = "sac_20990101-000000"
NO_GRADIENT_STEPS = {"learning_starts": 10**12}
"""Hyperparameters of the filled runs: random actions, no gradient step, however long."""
FIRST_STEP = "first env step at"


Run = tuple[OffPolicyAlgorithm, ResumableCheckpointCallback]


def filled_run(size: int, folder: Path, rng: np.random.Generator) -> Run:
    """A model whose buffer holds ``size`` random transitions, and the callback of its run
    ``RUN_NAME`` in ``folder``, after the run's first save."""
    plan = plan_training(TrainConfig.from_options(seed=0, **NO_GRADIENT_STEPS))
    env = make_env(plan.env_id, plan.env_kwargs)
    model = build_model(plan, env, "cpu")
    # Zeros in the buffer's own layout; at most buffer_size rows, so that the callback's count
    # of rows lines up with the buffer's position.
    rows = rows_since(model.replay_buffer, size, size)
    for values in rows.values():
        values[...] = rng.standard_normal(values.shape, dtype=np.float32)
    fill_buffer(model.replay_buffer, rows, size)
    model.num_timesteps = size
    callback = ResumableCheckpointCallback(folder / RUN_NAME, verbose=0)
    model.learn(EPISODE_STEPS, callback=callback, reset_num_timesteps=False)
    return model, callback


def save_cost_ms(runs: dict[int, Run], repeats: int) -> dict[int, dict[str, list[float]]]:
    """Milliseconds of each timed save of every run, on the ``"training"`` thread and the
    ``"writer"`` thread, by the number of transitions the run's buffer held at the start."""
    timings = {size: Timings() for size in runs}
    for _ in range(repeats):
        for size, (model, callback) in runs.items():  # interleaved: drift hits every size alike
            callback.best_reward = -math.inf  # a new best every time: the worst case
            parts = [(callback, "_save", "training"), (callback._files, "_save", "writer")]
            with timings[size].patched(parts):
                model.learn(EPISODE_STEPS, callback=callback, reset_num_timesteps=False)
    threads = ("training", "writer")
    for timing in timings.values():
        if [len(timing.calls[thread]) for thread in threads] != [repeats, repeats]:
            raise RuntimeError(f"expected one save per episode, timed {dict(timing.calls)}")
    return {
        size: {thread: [seconds * 1000 for seconds in timing.calls[thread]] for thread in threads}
        for size, timing in timings.items()
    }


def disk_per_100k(model: OffPolicyAlgorithm, transitions: int) -> tuple[float, int]:
    """MB of replay log per 100k transitions, written episode by episode as the callback
    writes it; and the number of files."""
    rows = rows_since(model.replay_buffer, EPISODE_STEPS, EPISODE_STEPS)
    with tempfile.TemporaryDirectory() as folder:
        log = ReplayLog(Path(folder), "run", "benchmark")
        for start in range(0, transitions, EPISODE_STEPS):
            log.append(start, rows)
        files = list(log.directory.iterdir())
        size = sum(path.stat().st_size for path in files)
    return size / 1e6 * 100_000 / transitions, len(files)


def latest_size_bytes() -> int:
    """Size of ``latest.pth`` with the shipped hyperparameters after one episode of gradient
    steps (so Adam's moment estimates are in it, as in any trained run)."""
    with tempfile.TemporaryDirectory() as folder:
        config = TrainConfig.from_options(
            episodes=1,
            seed=0,
            checkpoints_dir=Path(folder) / "c",
            runs_dir=Path(folder) / "r",
            learning_starts=0,
        )
        return run_training(plan_training(config)).paths.latest.stat().st_size


class _FirstStep(BaseCallback):
    """Prints the wall-clock time of the first env step and ends training there."""

    def _on_step(self) -> bool:
        print(f"{FIRST_STEP} {time.time()}", flush=True)
        return False


def _run_to_first_step(arguments: list[str]) -> None:
    """``robot6 train ARGUMENTS`` in this process, stopped at its first env step."""
    from robot6_sb3.cli import app

    # robot6 train imports run_training when it runs, from the trainer module.
    trainer = importlib.import_module("robot6_sb3.trainer")
    trainer.run_training = functools.partial(run_training, callbacks=[_FirstStep()])
    app(["train", *arguments], prog_name="robot6", standalone_mode=False)


def _time_to_first_step(arguments: list[str], cwd: Path) -> float:
    """Seconds from starting ``robot6 train ARGUMENTS`` in a new process to its first env step."""
    start = time.time()
    _, stdout = run_timed(
        [sys.executable, "-m", "benchmarks.checkpoint_cost", "--first-step", *arguments], cwd
    )
    (line,) = [line for line in stdout.splitlines() if line.startswith(FIRST_STEP)]
    return float(line.removeprefix(FIRST_STEP)) - start


def resume_latency(
    run_folders: dict[int, Path], repeats: int, cwd: Path
) -> tuple[list[float], dict[int, list[float]]]:
    """Seconds from command start to the first env step: new runs, and ``--resume`` of each
    folder's run (the run continues; stopped before its first episode ends, it saves nothing,
    so every repeat resumes the same checkpoint)."""
    fresh: list[float] = []
    resumed: dict[int, list[float]] = {size: [] for size in run_folders}
    new_run = ["--episodes", "1", "--seed", "0", "--checkpoints-dir", "new", "--runs-dir", "runs"]
    for _ in range(repeats):
        fresh.append(_time_to_first_step(new_run, cwd))
        for size, folder in run_folders.items():
            resume = ["--resume", "--checkpoints-dir", str(folder), "--episodes", str(10**6)]
            resumed[size].append(_time_to_first_step(resume, cwd))
    return fresh, resumed


def print_save_costs(sizes: list[int], costs: dict[int, dict[str, list[float]]]) -> None:
    """The save-cost table, and how the largest buffer compares with the smallest."""
    print("## Per-episode checkpoint cost\n")
    print("Milliseconds per episode save, median (min-max); every save here is a new best, so")
    print("it writes a replay segment, latest.pth and best.pth. The training thread copies the")
    print("new replay rows and snapshots the model; the writer thread writes the files.\n")
    print("| transitions in buffer | training thread per save | writer thread per save |")
    print("| ---: | ---: | ---: |")
    for size in sizes:
        row = costs[size]
        print(
            f"| {size:,} | {median_range(row['training'], 1)} | {median_range(row['writer'], 1)} |"
        )
    for thread in ("training", "writer"):
        big, small = costs[sizes[-1]][thread], costs[sizes[0]][thread]
        ratio = statistics.median(big) / statistics.median(small)
        print(
            f"\n{thread} thread: {sizes[-1]:,} vs {sizes[0]:,} ratio of medians {ratio:.2f} "
            "(target <= 1.5)"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--repeats", type=int, default=15, help="saves per buffer size")
    # The timed child: the rest of the command line is robot6 train's.
    arguments.add_argument("--first-step", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = arguments.parse_args(argv)
    torch.set_num_threads(1)
    if args.first_step is not None:
        _run_to_first_step(args.first_step)
        return 0
    sizes = [1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000]
    latency_sizes = [10_000] if args.quick else [100_000, 1_000_000]
    repeats = 3 if args.quick else args.repeats

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        runs = {size: filled_run(size, root / f"{size}", rng) for size in sizes}
        costs = save_cost_ms(runs, repeats)
        megabytes, files = disk_per_100k(runs[sizes[0]][0], 5_000 if args.quick else 100_000)
        for model, _ in runs.values():
            model.get_env().close()
        del runs  # the buffers' memory, before the resumes load theirs
        print_save_costs(sizes, costs)
        print(f"Replay log on disk: {megabytes:.1f} MB per 100k transitions ({files} files)")
        print(
            "latest.pth with the shipped hyperparameters, after gradient steps: "
            f"{latest_size_bytes() / 1e6:.2f} MB\n"
        )
        folders = {size: root / f"{size}" for size in latency_sizes}
        fresh, resumed = resume_latency(folders, 1 if args.quick else 3, root)
    print("## Resume latency (command start to first env step, seconds)\n")
    print(
        f"`robot6 train --resume` of the runs above (their replay logs hold the N transitions and "
        f"the {repeats + 1} episodes since) against `robot6 train` of a new run.\n"
    )
    print("| start | seconds, median (min-max) | ratio to a new run |")
    print("| --- | ---: | ---: |")
    print(f"| new run | {median_range(fresh, 1)} | 1.00 |")
    for size in latency_sizes:
        share = statistics.median(resumed[size]) / statistics.median(fresh)
        print(f"| resume, {size:,} transitions | {median_range(resumed[size], 1)} | {share:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
