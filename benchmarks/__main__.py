"""Run every benchmark and rewrite ``benchmarks/RESULTS.md`` (``make bench``).

    python -m benchmarks                      # all of them, full size (RESULTS.md says how long)
    python -m benchmarks --quick              # smoke sizes; prints, writes no file
    python -m benchmarks --only overhead      # some of them
    python -m benchmarks --output other.md    # write elsewhere

Each benchmark runs in its own Python process (``python -m benchmarks.NAME``), one after the
other, so that none inherits another's threads or memory; its markdown (stdout) becomes a
section of the results, under the exact command that produced it. Progress goes to stderr.
Text after the ``NOTES_MARKER`` line of an existing results file is kept as it is.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
ROOT = RESULTS.parent.parent

NOTES_MARKER = "<!-- Hand-written notes below this line are kept by `python -m benchmarks`. -->"


@dataclass(frozen=True)
class Benchmark:
    name: str
    """Module under ``benchmarks/``."""
    title: str
    target: str
    """What the numbers are held against, in a few words."""


BENCHMARKS = [
    Benchmark("env_throughput", "Env throughput", "Robot6Reach-v0 >= 1.5x panda-gym steps/s"),
    Benchmark("overhead", "Overhead of the safety net", "wall-time ratio <= 1.03"),
    Benchmark("throughput", "Training throughput", "how far from plain SB3 and the FLOP floor"),
    Benchmark(
        "engine",
        "Engine speed",
        "fast engine vs plain SB3: env steps/s >= 1.6x SAC, >= 2x TQC; step <= 1.6x / 2.5x floor",
    ),
    Benchmark(
        "checkpoint_cost",
        "Checkpoint cost and resume latency",
        "save cost flat in buffer size; resume start-up close to a new run's",
    ),
    Benchmark(
        "time_to_skill",
        "Time to skill",
        "95% success within 5,000 env steps for 8 of 10 seeds, median <= 25 s of training",
    ),
    Benchmark(
        "vec_envs",
        "Several envs and HER",
        "reported: robot6 train vs plain SB3 at 1, 2, 4 envs; SAC+HER on Robot6ReachGoal-v0",
    ),
]

PACKAGES = [
    "torch",
    "stable-baselines3",
    "sb3-contrib",
    "gymnasium",
    "pybullet",
    "numpy",
    "panda-gym",
]


def machine_facts() -> list[str]:
    """Lines describing the machine: cores, CPU model, RAM, GPU, load, date."""
    cpu_model = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- date: {datetime.now().isoformat(timespec='seconds')}",
        f"- CPU: {cpu_model}; cores available (nproc): {cores}",
        f"- RAM: {memory}; GPU: {gpu}",
        f"- OS: {platform.system()} {platform.release()}",
        f"- load average at start (1, 5, 15 min): {_load()}",
    ]


def versions() -> str:
    found = [f"python {platform.python_version()}"]
    for package in PACKAGES:
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} (not installed)")
    return ", ".join(found)


def _load() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def _clean(stdout: str) -> str:
    """Drop the lines PyBullet's C code prints for panda-gym's GUI options (``argv[0]=...``)."""
    lines = [line for line in stdout.splitlines() if not line.startswith("argv[")]
    return "\n".join(lines).strip()


def run_benchmark(benchmark: Benchmark, quick: bool) -> tuple[str, str, int, float]:
    """Run one benchmark in a new process; returns (command, markdown, exit code, seconds)."""
    arguments = ["-m", f"benchmarks.{benchmark.name}", *(["--quick"] if quick else [])]
    command = ".venv/bin/python " + " ".join(arguments)
    print(f"[bench] {command}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False
    )
    seconds = time.perf_counter() - start
    print(f"[bench] {benchmark.name}: exit {done.returncode}, {seconds:.0f} s", file=sys.stderr)
    return command, _clean(done.stdout), done.returncode, seconds


def render(
    sections: list[tuple[Benchmark, str, str, int, float]], header: list[str], total: float
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m benchmarks`); every figure is measured side by side",
        "in one run on the machine below, as medians of repeats with min-max, because the",
        "machine is shared and noisy. Each section gives the exact command that printed it.",
        "",
        "## Machine and versions",
        "",
        *header,
        f"- versions: {versions()}",
        f"- total time of this `make bench`: {total / 60:.1f} min",
        "",
        "| benchmark | target | exit | seconds |",
        "| --- | --- | ---: | ---: |",
    ]
    for benchmark, _, _, code, seconds in sections:
        status = {0: "0", 1: "1 (target missed)"}.get(code, f"{code} (failed)")
        lines.append(f"| {benchmark.title} | {benchmark.target} | {status} | {seconds:.0f} |")
    for benchmark, command, markdown, _, _ in sections:
        # The scripts' own headings become sub-headings of their section.
        body = "\n".join(
            f"#{line}" if line.startswith("## ") else line for line in markdown.splitlines()
        )
        lines += [
            "",
            f"## {benchmark.title}",
            "",
            f"`benchmarks/{benchmark.name}.py`:",
            "",
            "```",
            command,
            "```",
            "",
            body,
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns 0 when all ran and met their targets, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Smoke sizes; writes no file.")
    names = [benchmark.name for benchmark in BENCHMARKS]
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument(
        "--output", type=Path, default=None, help="Results file (default: benchmarks/RESULTS.md)."
    )
    args = parser.parse_args(argv)
    output = args.output or (None if args.quick else RESULTS)

    header = machine_facts()
    start = time.perf_counter()
    sections = []
    for benchmark in BENCHMARKS:
        if benchmark.name in args.only:
            sections.append((benchmark, *run_benchmark(benchmark, args.quick)))
    text = render(sections, header, time.perf_counter() - start)
    if output is None:
        print(text)
    else:
        notes = ""
        if output.exists():
            previous = output.read_text()
            if NOTES_MARKER in previous:
                notes = previous[previous.index(NOTES_MARKER) :]
        output.write_text(text + ("\n" + notes if notes else ""))
        print(f"[bench] wrote {output}", file=sys.stderr)
    return 0 if all(code == 0 for *_, code, _ in sections) else 1


if __name__ == "__main__":
    sys.exit(main())
