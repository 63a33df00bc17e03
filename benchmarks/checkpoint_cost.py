"""What the exact-resume safety net costs: per-episode save time against the buffer's size,
disk per 100k transitions, ``latest.pth`` size, and resume latency.

    python -m benchmarks.checkpoint_cost           # 1k, 100k and 1M transitions
    python -m benchmarks.checkpoint_cost --quick   # a smoke run of a few seconds

Saves are timed through the real ``EpisodeCheckpointCallback`` (replay segment, ``latest.pth``
and, every time here, ``best.pth``) with the buffer holding N transitions; sizes are
interleaved and repeated, and medians with min-max are reported. Resume latency is measured
in-process from ``plan_training`` to the first env step, against a new run's start-up.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from robot6_sb3.background_writer import BackgroundWriter
from robot6_sb3.callbacks import EpisodeCheckpointCallback, EpisodeRecord
from robot6_sb3.checkpoint import load_checkpoint, save_checkpoint
from robot6_sb3.planning import TrainRequest, plan_training
from robot6_sb3.replay_log import FIELDS, ReplayLog, segment_name
from robot6_sb3.trainer import build_model, make_env, run_training

EPISODE_STEPS = 50


def _fill(buffer: Any, count: int, rng: np.random.Generator) -> None:
    """Pretend ``count`` transitions went through ``buffer`` (random content)."""
    stored = min(count, buffer.buffer_size)
    for name in FIELDS:
        values = getattr(buffer, name)
        values[:stored] = rng.standard_normal(values[:stored].shape).astype(values.dtype)
    buffer.pos = count % buffer.buffer_size
    buffer.full = count >= buffer.buffer_size


def _saver(root: Path, model: Any, count: int, background: bool) -> EpisodeCheckpointCallback:
    run = root / f"run{count}-{background}"
    saver = EpisodeCheckpointCallback(
        run,
        metadata={"run_name": run.name},
        replay_log=ReplayLog(root, run.name),
        lineage=[{"run": run.name, "start": 0, "stop": count}] if count else [],
        writer=BackgroundWriter() if background else None,
    )
    saver.init_callback(model)
    return saver


def save_cost_ms(
    sizes: list[int], repeats: int, buffer_size: int
) -> dict[tuple[int, bool], list[float]]:
    """Milliseconds one episode's save holds up training, with ``size`` transitions in the
    buffer, for the synchronous writer (``False``) and the background one (``True``)."""
    rng = np.random.default_rng(0)
    plan = plan_training(TrainRequest(seed=0, overrides={"buffer_size": buffer_size}))
    env = make_env(plan.env_id, plan.env_kwargs)
    model = build_model(plan, env, "cpu")
    model._last_obs = env.reset()
    model._last_episode_starts = np.ones(1, dtype=bool)
    modes = [(size, background) for size in sizes for background in (False, True)]
    times: dict[tuple[int, bool], list[float]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as folder:
        savers = {}
        for size, background in modes:
            _fill(model.replay_buffer, size, rng)
            savers[size, background] = _saver(Path(folder), model, size, background)
        for episode in range(repeats):
            for size, background in modes:  # interleaved, so drift hits every mode alike
                count = size + (episode + 1) * EPISODE_STEPS
                _fill(model.replay_buffer, count, rng)
                model.num_timesteps = count
                saver = savers[size, background]
                saver.num_timesteps = count
                saver._saved_steps = count - EPISODE_STEPS
                record = EpisodeRecord(episode, count, float(episode), EPISODE_STEPS, False, 0.1)
                start = time.perf_counter()
                saver._on_episodes_complete([record])  # a new best every time: worst case
                times[size, background].append((time.perf_counter() - start) * 1000)
                if saver._writer is not None:
                    saver._writer.flush()  # the disk catches up while the next episode trains
        for saver in savers.values():
            if saver._writer is not None:
                saver._writer.close()
    env.close()
    return times


def disk_per_100k(transitions: int) -> tuple[float, int]:
    """MB of replay log per 100k transitions, written episode by episode; and file count."""
    plan = plan_training(TrainRequest(seed=0, overrides={"buffer_size": 1000}))
    env = make_env(plan.env_id, plan.env_kwargs)
    model = build_model(plan, env, "cpu")
    rows = {name: getattr(model.replay_buffer, name)[:EPISODE_STEPS].copy() for name in FIELDS}
    env.close()
    with tempfile.TemporaryDirectory() as folder:
        log = ReplayLog(Path(folder), "run")
        for start in range(0, transitions, EPISODE_STEPS):
            log.append(start, rows)
        files = list(log.directory.iterdir())
        size = sum(path.stat().st_size for path in files)
    return size / 1e6 * 100_000 / transitions, len(files)


def latest_size_bytes() -> int:
    """Size of ``latest.pth`` with the shipped hyperparameters."""
    with tempfile.TemporaryDirectory() as folder:
        request = TrainRequest(
            episodes=1, seed=0, checkpoints_dir=Path(folder) / "c", runs_dir=Path(folder) / "r"
        )
        return run_training(plan_training(request)).paths.latest.stat().st_size


class _FirstStep(BaseCallback):
    """Notes when the first env step is done (wall clock) and ends training there."""

    def __init__(self) -> None:
        super().__init__()
        self.at: float | None = None

    def _on_step(self) -> bool:
        self.at = time.time()
        return False


def _first_step_at(request: TrainRequest) -> float:
    timer = _FirstStep()
    run_training(plan_training(request), callbacks=[timer])
    assert timer.at is not None
    return timer.at


def _time_to_first_step(request: TrainRequest) -> float:
    """Seconds from the command's start (a new Python process) to its first env step."""
    start = time.time()
    arguments = [
        "--first-step",
        str(request.resume_ckpt or ""),
        str(request.checkpoints_dir),
        str(request.runs_dir),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.checkpoint_cost", *arguments],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1]) - start


def resume_latency(sizes: list[int], repeats: int) -> tuple[list[float], dict[int, list[float]]]:
    """Seconds from command start to the first env step: new runs, and resumes (forks) of a
    run whose replay history holds ``size`` transitions."""
    rng = np.random.default_rng(1)
    fresh: list[float] = []
    resumed: dict[int, list[float]] = {size: [] for size in sizes}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        base = TrainRequest(episodes=1, seed=0, checkpoints_dir=root / "c", runs_dir=root / "r")
        template = load_checkpoint(run_training(plan_training(base)).paths.latest)
        shutil.rmtree(root / "c")
        sources = {}
        for size in sizes:
            run = root / "c" / f"sac_20990101-00000{sizes.index(size)}"
            (run / "replay").mkdir(parents=True)
            chunk = 10_000
            for start in range(0, size, chunk):
                stop = min(size, start + chunk)
                rows = {
                    "observations": rng.standard_normal((stop - start, 1, 21), dtype=np.float32),
                    "next_observations": rng.standard_normal(
                        (stop - start, 1, 21), dtype=np.float32
                    ),
                    "actions": rng.uniform(-1, 1, (stop - start, 1, 3)).astype(np.float32),
                    "rewards": rng.standard_normal((stop - start, 1), dtype=np.float32),
                    "dones": np.zeros((stop - start, 1), dtype=np.float32),
                    "timeouts": np.zeros((stop - start, 1), dtype=np.float32),
                }
                np.savez(run / "replay" / segment_name(start, stop), **rows)
            checkpoint = dict(template)
            checkpoint["metadata"] = {**template["metadata"], "run_name": run.name}
            checkpoint["replay"] = {"lineage": [{"run": run.name, "start": 0, "stop": size}]}
            save_checkpoint(checkpoint, run / "latest.pth")
            sources[size] = run / "latest.pth"
        for _ in range(repeats):
            fresh.append(_time_to_first_step(base))
            for size in sizes:
                # Resuming the same file each time: a fresh fork keeps the source unchanged.
                fork = TrainRequest(
                    resume_ckpt=sources[size], checkpoints_dir=root / "c", runs_dir=root / "r"
                )
                resumed[size].append(_time_to_first_step(fork))
    return fresh, resumed


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--repeats", type=int, default=15, help="saves per buffer size")
    parser.add_argument("--first-step", nargs=3, help=argparse.SUPPRESS)  # the timed child
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.first_step:
        ckpt, checkpoints_dir, runs_dir = args.first_step
        request = TrainRequest(
            episodes=1 if not ckpt else 10**6,
            seed=0,
            resume_ckpt=Path(ckpt) if ckpt else None,
            checkpoints_dir=Path(checkpoints_dir),
            runs_dir=Path(runs_dir),
        )
        print(_first_step_at(request))
        return 0
    sizes = [1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000]
    repeats = 3 if args.quick else args.repeats

    costs = save_cost_ms(sizes, repeats, buffer_size=max(sizes) + 10 * repeats * EPISODE_STEPS)
    print("## Per-episode checkpoint cost\n")
    print("Milliseconds the training thread waits per episode save, median (min-max); every")
    print("save here is a new best, so it writes a segment, latest.pth and best.pth.\n")
    print("| transitions in buffer | writing on the training thread | background writer |")
    print("| ---: | ---: | ---: |")
    for size in sizes:
        print(f"| {size:,} | {_stats(costs[size, False])} | {_stats(costs[size, True])} |")
    for background in (False, True):
        big, small = costs[sizes[-1], background], costs[sizes[0], background]
        ratio = statistics.median(big) / statistics.median(small)
        mode = "background" if background else "synchronous"
        print(
            f"\n{mode}: {sizes[-1]:,} vs {sizes[0]:,} ratio of medians {ratio:.2f} (target <= 1.5)"
        )
    print()

    megabytes, files = disk_per_100k(5_000 if args.quick else 100_000)
    print(f"Replay log on disk: {megabytes:.1f} MB per 100k transitions ({files} files)")
    print(f"latest.pth with the shipped hyperparameters: {latest_size_bytes() / 1e6:.2f} MB\n")

    latency_sizes = [10_000] if args.quick else [100_000, 1_000_000]
    fresh, resumed = resume_latency(latency_sizes, 1 if args.quick else 3)
    print("## Resume latency (command start to first env step, seconds)\n")
    print("| start | seconds, median (min-max) | ratio to a new run |")
    print("| --- | ---: | ---: |")
    print(f"| new run | {_stats(fresh)} | 1.00 |")
    for size in latency_sizes:
        share = statistics.median(resumed[size]) / statistics.median(fresh)
        print(f"| resume, {size:,} transitions | {_stats(resumed[size])} | {share:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
