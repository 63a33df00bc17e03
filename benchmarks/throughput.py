"""Training throughput: env steps per second of a whole ``robot6 train`` command against plain
SB3 on the same model, and the cost of one gradient step against its arithmetic floor.

    python -m benchmarks.throughput            # 3 alternating pairs of 40-episode runs
    python -m benchmarks.throughput --quick    # a smoke run of a few seconds

1. Both sides run as a new Python process with the shipped hyperparameters, seed 0, one
   PyTorch thread, timed from the command's start to its exit (imports, set-up, the 1,000
   random ``learning_starts`` steps and the training steps): ``robot6 train --episodes N``
   (its default engine, the fast one; checkpoint every episode, replay log, CSV, TensorBoard)
   against the plain script
   ``benchmarks/plain_sac.py``: ``SAC("MlpPolicy", ...).learn(N * 50)`` with no callbacks and
   no files. ``benchmarks/vec_envs.py`` runs the same comparison with several envs.
2. The update loop: ``model.train(gradient_steps=G)`` of SB3's own SAC and TQC, timed on a
   buffer of random-action transitions (``benchmarks/engine.py`` times the fast engine's). Its FLOPs are counted by ``torch.utils.flop_counter``
   (matmuls forward and backward); the floor is FLOPs / the machine's matmul FLOP/s, measured
   both at the nets' own shapes (batch x width x width) and at a large square matmul (peak).
3. Where one training env step goes: gradient step, policy action, env step, and the rest
   (SB3's bookkeeping: buffer add, logger), each timed inside one plain ``learn`` run.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib import TQC
from stable_baselines3 import SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from torch.utils.flop_counter import FlopCounterMode

import robot6_envs
from benchmarks.measure import Timings, alternating_pairs, median_range, parser, run_timed
from robot6_sb3.hyperparameters import Hyperparameters

EPISODE_STEPS = 50
ALGORITHMS: dict[str, type[OffPolicyAlgorithm]] = {"sac": SAC, "tqc": TQC}


@dataclass(frozen=True)
class TrainingSetup:
    """One training, as ``robot6 train`` options and as the plain script's settings."""

    episodes: int
    n_envs: int = 1
    vec_env: str = "dummy"
    """``dummy`` or ``subproc``."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Hyperparameters fields that differ from the shipped ones."""
    seed: int = 0
    algo: str = "sac"
    engine: str | None = None
    """``robot6 train --engine`` (``None``: its default)."""
    device: str = "cpu"
    """Where both sides train (``robot6 train --device``)."""

    @property
    def steps(self) -> int:
        return self.episodes * EPISODE_STEPS


@dataclass(frozen=True)
class CommandRun:
    """One whole training command, timed."""

    seconds: float
    """Wall time from spawn to exit: imports, set-up, training, the last writes."""
    learn_fps: float
    """SB3's own ``time/fps`` at the last episode's end: env steps per second inside ``learn``
    (SB3 rounds it down to a whole number)."""
    train_fps: float = float("nan")
    """Env steps per second of the training phase: from the first episode end at or past
    ``learning_starts`` to the last."""
    phases: Phases | None = None
    """Where the wall time went (``None`` for a run too short to have a training phase)."""


@dataclass(frozen=True)
class Phases:
    """A whole command's wall time cut at its logged episode ends, in seconds."""

    start_up: float
    """From spawn to the first episode's end: imports, set-up and one episode."""
    warm_up: float
    """From there to the first episode end at or past ``learning_starts`` (random actions)."""
    training: float
    """From there to the last episode's end."""
    exit: float
    """From there to the process's end: the last writes, closing, interpreter shutdown."""

    @classmethod
    def of(
        cls, spawned: float, ended: float, logged: list[tuple[int, float]], starts: int
    ) -> Phases:
        """:param spawned: epoch seconds of the spawn
        :param ended: epoch seconds of the exit
        :param logged: ``(num_timesteps, epoch seconds)`` of every episode end, in order
        :param starts: ``learning_starts``
        """
        first = logged[0][1]
        trained = next(when for step, when in logged if step >= starts)
        last = logged[-1][1]
        return cls(first - spawned, trained - first, last - trained, ended - last)


def _robot6_options(overrides: dict[str, Any]) -> list[str]:
    """``overrides`` as ``robot6 train`` options."""
    options = []
    for name, value in overrides.items():
        text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
        options += [f"--{name.replace('_', '-')}", text]
    return options


def run_robot6(setup: TrainingSetup, folder: Path) -> CommandRun:
    """``robot6 train`` in a new process, in a new folder under ``folder``; ``learn_fps`` is
    read back from the run's TensorBoard events."""
    cwd = Path(tempfile.mkdtemp(prefix="robot6-", dir=folder))
    command = [sys.executable, "-m", "robot6_sb3", "train", "--episodes", str(setup.episodes)]
    command += ["--seed", str(setup.seed), "--no-progress", "--algo", setup.algo]
    command += ["--n-envs", str(setup.n_envs), "--vec-env", setup.vec_env]
    command += ["--checkpoints-dir", "checkpoints", "--runs-dir", "runs", "--device", setup.device]
    if setup.engine is not None:
        command += ["--engine", setup.engine]
    spawned = time.time()
    seconds, _ = run_timed([*command, *_robot6_options(setup.overrides)], cwd)
    learning_starts = Hyperparameters().replace(**setup.overrides).learning_starts
    return _timed_run(seconds, spawned, _logged_times(cwd / "runs"), learning_starts)


def _logged_times(runs_dir: Path) -> list[tuple[int, float, float]]:
    """``(step, epoch seconds, value)`` of every ``time/fps`` in the TensorBoard events of the
    one run in ``runs_dir`` (SB3 logs it at every episode's end)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (log_dir,) = [path for path in runs_dir.iterdir() if path.is_dir()]
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return [(event.step, event.wall_time, event.value) for event in events.Scalars("time/fps")]


def _timed_run(
    seconds: float, spawned: float, logged: list[tuple[int, float, float]], learning_starts: int
) -> CommandRun:
    """A command's figures from its episode ends: the last ``time/fps``, and the env steps per
    second and phases of the training from the first end at or past ``learning_starts`` to the
    last (NaN and no phases for a run too short to have two of them)."""
    training = [(step, when) for step, when, _ in logged if step >= learning_starts]
    if len(training) < 2:
        return CommandRun(seconds, float(logged[-1][2]))
    (first_step, first), (last_step, last) = training[0], training[-1]
    phases = Phases.of(
        spawned, spawned + seconds, [(step, when) for step, when, _ in logged], learning_starts
    )
    return CommandRun(
        seconds, float(logged[-1][2]), (last_step - first_step) / (last - first), phases
    )


def run_plain(setup: TrainingSetup, folder: Path) -> CommandRun:
    """The plain SB3 script (``benchmarks/plain_sac.py``) in a new process."""
    settings = {
        "steps": setup.steps,
        "n_envs": setup.n_envs,
        "vec_env": setup.vec_env,
        "seed": setup.seed,
        "overrides": setup.overrides,
        "algo": setup.algo,
        "device": setup.device,
    }
    command = [sys.executable, "-m", "benchmarks.plain_sac", json.dumps(settings)]
    spawned = time.time()
    seconds, stdout = run_timed(command, folder)
    result = json.loads(stdout.splitlines()[-1])
    logged = [(step, when, float(result["learn_fps"])) for step, when in result["episode_ends"]]
    learning_starts = Hyperparameters().replace(**setup.overrides).learning_starts
    return _timed_run(seconds, spawned, logged, learning_starts)


def whole_runs(setup: TrainingSetup, pairs: int, folder: Path) -> dict[str, list[CommandRun]]:
    """``robot6 train`` (``"robot6"``) and the plain script (``"plain"``) in alternating pairs."""
    return alternating_pairs(
        pairs,
        {
            "robot6": lambda _: run_robot6(setup, folder),
            "plain": lambda _: run_plain(setup, folder),
        },
    )


def model_with_buffer(
    algo: str,
    hyperparameters: Hyperparameters,
    cls: type[OffPolicyAlgorithm] | None = None,
    device: str = "cpu",
) -> OffPolicyAlgorithm:
    """A model (of ``cls``, default SB3's class of ``algo``) on ``device`` whose buffer holds
    ``learning_starts`` random-action transitions."""
    env = gym.make(robot6_envs.ENV_ID)
    cls = cls or ALGORITHMS[algo]
    kwargs = hyperparameters.sb3_kwargs(algo, env)
    model = cls("MlpPolicy", env, seed=0, device=device, **kwargs)
    model.learn(total_timesteps=hyperparameters.learning_starts)
    return model


def gradient_step_ms(model: OffPolicyAlgorithm, steps: int, repeats: int) -> list[float]:
    """Milliseconds per gradient step of ``model.train`` (SB3's own update loop)."""
    batch_size = model.batch_size
    model.train(gradient_steps=10, batch_size=batch_size)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.train(gradient_steps=steps, batch_size=batch_size)
        times.append((time.perf_counter() - start) * 1000 / steps)
    return times


def gradient_step_flops(model: OffPolicyAlgorithm) -> int:
    """FLOPs of one gradient step (matmuls forward and backward, as torch counts them)."""
    counter = FlopCounterMode(display=False)
    with counter:
        model.train(gradient_steps=1, batch_size=model.batch_size)
    return int(counter.get_total_flops())


def matmul_flops_per_s(m: int, k: int, n: int, seconds: float = 0.5, device: str = "cpu") -> float:
    """Measured FLOP/s of ``(m x k) @ (k x n)`` float32 matmuls on ``device`` (the CPU: on the
    current threads)."""
    a, b = torch.randn(m, k, device=device), torch.randn(k, n, device=device)
    out = torch.empty(m, n, device=device)
    for _ in range(10):
        torch.mm(a, b, out=out)
    synchronize(device)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(20):
            torch.mm(a, b, out=out)
        synchronize(device)
        count += 20
    return 2 * m * k * n * count / elapsed


def synchronize(device: str) -> None:
    """Wait for ``device``'s queued work (a GPU runs asynchronously), so timings are whole."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def training_step_parts(
    algo: str, hyperparameters: Hyperparameters, steps: int
) -> dict[str, float]:
    """Milliseconds per env step of plain ``learn`` once every step trains, and of its parts,
    timed inside that same run: ``train``, ``predict`` and the vec env's ``step``."""
    model = model_with_buffer(algo, hyperparameters)
    env = model.get_env()
    assert env is not None
    timings = Timings()
    parts = [(model, "train", "train"), (model, "predict", "predict"), (env, "step", "env")]
    with timings.patched(parts):
        start = time.perf_counter()
        model.learn(total_timesteps=steps, reset_num_timesteps=False)
        total = time.perf_counter() - start
    env.close()
    seconds = {label: timings.total(label) for _, _, label in parts} | {"total": total}
    return {name: value * 1000 / steps for name, value in seconds.items()}


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--pairs", type=int, default=3, help="Alternating whole-run pairs.")
    arguments.add_argument("--episodes", type=int, default=40, help="Episodes per whole run.")
    arguments.add_argument("--gradient-steps", type=int, default=200, help="Per timed repeat.")
    arguments.add_argument("--repeats", type=int, default=5, help="Timed gradient-step repeats.")
    args = arguments.parse_args(argv)
    torch.set_num_threads(1)

    hyperparameters = Hyperparameters()
    overrides: dict[str, Any] = {}
    if args.quick:
        args.pairs, args.episodes, args.gradient_steps, args.repeats = 1, 1, 5, 2
        overrides = {"net_arch": [32, 32], "batch_size": 32, "learning_starts": 100}
        hyperparameters = hyperparameters.replace(**overrides)

    setup = TrainingSetup(args.episodes, overrides=overrides)
    with tempfile.TemporaryDirectory() as folder:
        runs = whole_runs(setup, args.pairs, Path(folder))
    robot6_times = [run.seconds for run in runs["robot6"]]
    plain_times = [run.seconds for run in runs["plain"]]
    steps = setup.steps
    ratios = [r / p for r, p in zip(robot6_times, plain_times, strict=True)]
    print("## Training throughput\n")
    print(
        f"{args.pairs} alternating pairs of whole commands, {args.episodes} episodes "
        f"({steps:,} env steps, the first {hyperparameters.learning_starts:,} random), seed 0, "
        f"hyperparameters {hyperparameters.to_dict()}, one PyTorch thread.\n"
    )
    print("| command | seconds, median (min-max) | env steps/s |")
    print("| --- | ---: | ---: |")
    print(
        f"| `robot6 train --episodes {args.episodes}` | {median_range(robot6_times)} "
        f"| {steps / statistics.median(robot6_times):.0f} |"
    )
    print(
        f"| plain SB3 `SAC(...).learn({steps})` | {median_range(plain_times)} "
        f"| {steps / statistics.median(plain_times):.0f} |"
    )
    print(f"\nWall-time ratio robot6 / plain, whole command: {median_range(ratios, 3)}\n")

    seconds = 0.05 if args.quick else 1.0
    peak = matmul_flops_per_s(1024, 1024, 1024, seconds)
    width = hyperparameters.net_arch[-1]
    at_shape = matmul_flops_per_s(hyperparameters.batch_size, width, width, seconds)
    print("## Update loop against the arithmetic floor\n")
    print(
        f"Measured float32 matmul speed, one thread: {peak / 1e9:.1f} GFLOP/s at 1024^3 (peak), "
        f"{at_shape / 1e9:.1f} GFLOP/s at {hyperparameters.batch_size}x{width}x{width} "
        "(the nets' own shape).\n"
    )
    print(
        "| algo | MFLOP per gradient step | ms per gradient step, median (min-max) "
        "| floor at peak, ms | x floor (peak) | floor at net shape, ms | x floor (net shape) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for algo in ALGORITHMS:
        model = model_with_buffer(algo, hyperparameters)
        flops = gradient_step_flops(model)
        times = gradient_step_ms(model, args.gradient_steps, args.repeats)
        median = statistics.median(times)
        floor_peak, floor_shape = flops / peak * 1000, flops / at_shape * 1000
        print(
            f"| {algo.upper()} | {flops / 1e6:.1f} | {median_range(times)} | {floor_peak:.2f} "
            f"| {median / floor_peak:.1f} | {floor_shape:.2f} | {median / floor_shape:.1f} |"
        )
        model.get_env().close()

    parts = training_step_parts("sac", hyperparameters, 100 if args.quick else 1_000)
    rest = parts["total"] - parts["train"] - parts["predict"] - parts["env"]
    print("\n## Where one SAC training step goes (plain SB3 learn, every step trains)\n")
    print("Each part timed inside the same `learn` run.\n")
    print("| part | ms per env step | share |")
    print("| --- | ---: | ---: |")
    for label, value in (
        ("gradient step (`model.train`, SB3's update)", parts["train"]),
        ("policy action (`model.predict`, one observation)", parts["predict"]),
        ("env step (`DummyVecEnv.step`: PyBullet, IK, Monitor)", parts["env"]),
        ("the rest (SB3 collect_rollouts, buffer add, logger)", rest),
        ("**measured total**", parts["total"]),
    ):
        print(f"| {label} | {value:.2f} | {value / parts['total']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
