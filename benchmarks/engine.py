"""Engine speed: the fast engine (``robot6_sb3.engine``) against SB3's own update, for SAC and
TQC, as gradient steps and as whole training commands.

    python -m benchmarks.engine            # shipped settings, 3 alternating rounds (~8 min)
    python -m benchmarks.engine --quick    # a smoke run of a few seconds
    python -m benchmarks.engine --device cuda    # the same on a GPU (one command)

1. The update loop: ``model.train(gradient_steps=G)`` of SB3's class and of the fast one, at
   the shipped hyperparameters (net_arch 128,128, batch 256), on the same buffer of
   random-action transitions, timed in alternating repeats. Each is held against the FLOP
   floor of ``benchmarks/throughput.py``: the FLOPs of SB3's update (matmuls forward and
   backward, counted by ``torch.utils.flop_counter``) over the measured float32 matmul speed.
2. Whole commands, in alternating rounds: ``robot6 train --engine fast``, ``robot6 train
   --engine sb3`` and the plain SB3 script (``benchmarks/plain_sac.py``, no callbacks, no
   files), seed 0, one PyTorch thread. The figure compared is the training env steps per
   second: from the first episode end at or past ``learning_starts`` to the last (the random
   warm-up and the start-up are the same for every command and are left out); the whole
   command's wall time is shown too.

Exit code 1 when a target is missed (full size only): env steps/s of ``robot6 train`` over
the plain script >= 1.6 for SAC and >= 2 for TQC; gradient step <= 1.6x (SAC) and 2.5x (TQC)
its FLOP floor.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from benchmarks.measure import alternating_pairs, median_range, parser
from benchmarks.throughput import (
    EPISODE_STEPS,
    CommandRun,
    TrainingSetup,
    gradient_step_flops,
    matmul_flops_per_s,
    model_with_buffer,
    run_plain,
    run_robot6,
    synchronize,
)
from robot6_sb3.algorithms import ENGINE_CLASSES, FAST, SB3, algo_class
from robot6_sb3.engine import describe_engine
from robot6_sb3.hyperparameters import Hyperparameters

TARGETS = {"sac": (1.6, 1.6), "tqc": (2.0, 2.5)}
"""Per algorithm: (least env steps/s ratio robot6 / plain, most gradient step / FLOP floor)."""


def step_ms(model: OffPolicyAlgorithm, steps: int) -> float:
    """Milliseconds per gradient step of ``steps`` steps of ``model.train``."""
    device = model.device.type
    synchronize(device)
    start = time.perf_counter()
    model.train(gradient_steps=steps, batch_size=model.batch_size)
    synchronize(device)
    return (time.perf_counter() - start) * 1000 / steps


def gradient_steps(
    algo: str, hyperparameters: Hyperparameters, steps: int, rounds: int, device: str = "cpu"
) -> dict[str, Any]:
    """SB3's and the fast update of ``algo`` timed in alternating rounds, and their FLOPs."""
    models = {
        SB3: model_with_buffer(algo, hyperparameters, algo_class(algo, SB3), device),
        FAST: model_with_buffer(algo, hyperparameters, algo_class(algo, FAST), device),
    }
    flops = {name: gradient_step_flops(model) for name, model in models.items()}
    for model in models.values():
        model.train(gradient_steps=10, batch_size=model.batch_size)  # warm-up
    times = alternating_pairs(
        rounds, {name: (lambda _, m=model: step_ms(m, steps)) for name, model in models.items()}
    )
    engines = {name: describe_engine(model) for name, model in models.items()}
    for model in models.values():
        model.get_env().close()
    return {"flops": flops, "times": times, "engines": engines}


def whole_commands(setup: TrainingSetup, rounds: int, folder: Path) -> dict[str, list[CommandRun]]:
    """``robot6 train`` with each engine and the plain script, in alternating rounds."""
    fast = dataclasses.replace(setup, engine=FAST)
    sb3 = dataclasses.replace(setup, engine=SB3)
    return alternating_pairs(
        rounds,
        {
            "fast": lambda _: run_robot6(fast, folder),
            "sb3": lambda _: run_robot6(sb3, folder),
            "plain": lambda _: run_plain(setup, folder),
        },
    )


def _print_steps(results: dict[str, dict[str, Any]], peak: float, at_shape: float) -> bool:
    """The gradient-step table; returns whether every fast update is within its target."""
    print(
        "| algo | update | ms per gradient step, median (min-max) | x SB3's | MFLOP "
        "(own) | x floor (peak) | x floor (net shape) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    met = True
    for algo, result in results.items():
        sb3_flops = result["flops"]["sb3"]
        floor_peak, floor_shape = sb3_flops / peak * 1000, sb3_flops / at_shape * 1000
        for name in ("sb3", "fast"):
            times = result["times"][name]
            median = statistics.median(times)
            ratios = [t / s for t, s in zip(times, result["times"]["sb3"], strict=True)]
            print(
                f"| {algo.upper()} | {result['engines'][name]} | {median_range(times)} "
                f"| {median_range(ratios)} | {result['flops'][name] / 1e6:.1f} "
                f"| {median / floor_peak:.2f} | {median / floor_shape:.2f} |"
            )
        met &= statistics.median(result["times"]["fast"]) / floor_peak <= TARGETS[algo][1]
    return met


def _print_commands(algo: str, setup: TrainingSetup, runs: dict[str, list[CommandRun]]) -> bool:
    """The whole-command table; returns whether the fast engine is within its target."""
    plain = [run.train_fps for run in runs["plain"]]
    labels = {
        "fast": f"`robot6 train --algo {algo} --engine fast`",
        "sb3": f"`robot6 train --algo {algo} --engine sb3`",
        "plain": f"plain SB3 `{algo.upper()}(...).learn({setup.steps})`",
    }
    print(
        "| command | training env steps/s, median (min-max) | x plain SB3, median (min-max) "
        "| wall seconds, median (min-max) |"
    )
    print("| --- | ---: | ---: | ---: |")
    for name, label in labels.items():
        rates = [run.train_fps for run in runs[name]]
        ratios = [rate / base for rate, base in zip(rates, plain, strict=True)]
        seconds = [run.seconds for run in runs[name]]
        print(
            f"| {label} | {median_range(rates, 0)} | {median_range(ratios)} "
            f"| {median_range(seconds, 1)} |"
        )
    _print_phases(labels, runs)
    fast = [f.train_fps / p.train_fps for f, p in zip(runs["fast"], runs["plain"], strict=True)]
    return statistics.median(fast) >= TARGETS[algo][0]


PHASES = {
    "start_up": "start-up (spawn to the first episode's end)",
    "warm_up": "warm-up (the random steps)",
    "training": "training",
    "exit": "exit (last episode's end to the process's end)",
}


def _print_phases(labels: dict[str, str], runs: dict[str, list[CommandRun]]) -> None:
    """Where each command's wall time went, and what ``--engine sb3`` adds to the plain
    script in each phase (medians over the rounds, seconds)."""
    phases = {name: [run.phases for run in done if run.phases] for name, done in runs.items()}
    if not all(phases.values()):
        return
    print("\nWhere the wall time goes, seconds, median over the rounds:\n")
    print(f"| command | {' | '.join(PHASES.values())} |")
    print(f"| --- |{' ---: |' * len(PHASES)}")
    medians = {
        name: {field: statistics.median(getattr(p, field) for p in done) for field in PHASES}
        for name, done in phases.items()
    }
    for name, label in labels.items():
        print(f"| {label} | {' | '.join(f'{medians[name][f]:.2f}' for f in PHASES)} |")
    extra = [f"{medians['sb3'][f] - medians['plain'][f]:+.2f}" for f in PHASES]
    print(f"| `--engine sb3` minus plain | {' | '.join(extra)} |")


def main(argv: list[str] | None = None) -> int:
    arguments = parser(__doc__)
    arguments.add_argument("--rounds", type=int, default=3, help="Alternating command rounds.")
    arguments.add_argument("--episodes", type=int, default=60, help="Episodes per command.")
    arguments.add_argument("--gradient-steps", type=int, default=100, help="Per timed repeat.")
    arguments.add_argument("--repeats", type=int, default=7, help="Gradient-step repeats.")
    arguments.add_argument(
        "--device", default="cpu", help="Where both engines and the plain script train."
    )
    args = arguments.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: PyTorch sees no CUDA GPU here", file=sys.stderr)
        return 2
    torch.set_num_threads(1)

    hyperparameters = Hyperparameters()
    overrides: dict[str, Any] = {}
    if args.quick:
        args.rounds, args.episodes, args.gradient_steps, args.repeats = 1, 3, 5, 2
        overrides = {"net_arch": [32, 32], "batch_size": 32, "learning_starts": 50}
        hyperparameters = hyperparameters.replace(**overrides)

    seconds = 0.05 if args.quick else 1.0
    peak = matmul_flops_per_s(1024, 1024, 1024, seconds, args.device)
    width = hyperparameters.net_arch[-1]
    at_shape = matmul_flops_per_s(hyperparameters.batch_size, width, width, seconds, args.device)
    results = {
        algo: gradient_steps(algo, hyperparameters, args.gradient_steps, args.repeats, args.device)
        for algo in ENGINE_CLASSES[FAST]
    }
    print("## Gradient step: SB3's update and the fast engine\n")
    print(
        f"{args.repeats} alternating repeats of {args.gradient_steps} gradient steps, batch "
        f"{hyperparameters.batch_size}, net_arch {list(hyperparameters.net_arch)}, one thread, "
        f"device {args.device}. "
        f"The FLOP floor is SB3's update's FLOPs over the measured float32 matmul speed: "
        f"{peak / 1e9:.1f} GFLOP/s at 1024^3 (peak), {at_shape / 1e9:.1f} GFLOP/s at "
        f"{hyperparameters.batch_size}x{width}x{width} (the nets' shape). MFLOP (own): what each "
        "update computes (the fast one skips the critics' weight gradients of the actor loss, "
        "which SB3 computes and discards).\n"
    )
    steps_met = _print_steps(results, peak, at_shape)

    commands_met = True
    for algo in ENGINE_CLASSES[FAST]:
        setup = TrainingSetup(args.episodes, overrides=overrides, algo=algo, device=args.device)
        with tempfile.TemporaryDirectory() as folder:
            runs = whole_commands(setup, args.rounds, Path(folder))
        print(f"\n## Whole commands: {algo.upper()}\n")
        print(
            f"{args.rounds} alternating rounds of {args.episodes} episodes "
            f"({args.episodes * EPISODE_STEPS:,} env steps, the first "
            f"{hyperparameters.learning_starts:,} random), seed 0, shipped hyperparameters"
            f"{f' with {overrides}' if overrides else ''}, one PyTorch thread, device {args.device}.\n"
        )
        commands_met &= _print_commands(algo, setup, runs)
    met = steps_met and commands_met
    print(f"\nTargets {'met' if met else 'missed'}: {TARGETS} (env steps/s ratio, x floor).")
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
