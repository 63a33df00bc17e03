"""How the benchmarks measure: their command line, alternating A/B pairs, medians with min-max,
time spent inside chosen functions, and timed child processes.

The benchmark machine is shared and noisy, so every comparison runs its sides in alternating
order and reports the median with the min-max over the repeats.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
"""The repository root: child processes import ``benchmarks`` from here."""

Key = TypeVar("Key")
Result = TypeVar("Result")


def parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line, described by the first line of ``doc``, with ``--quick``."""
    result = argparse.ArgumentParser(description=doc.splitlines()[0])
    result.add_argument("--quick", action="store_true", help="A smoke run of a few seconds.")
    return result


def median_range(values: Sequence[float], digits: int = 2) -> str:
    """``median (min-max)`` of ``values``."""
    low, high, middle = min(values), max(values), statistics.median(values)
    return f"{middle:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


def alternating_pairs(
    pairs: int, sides: dict[Key, Callable[[int], Result]]
) -> dict[Key, list[Result]]:
    """Measure every side once per pair, in reversed order every other pair, so that a machine
    getting busier or quieter slows every side alike.

    :param pairs: how many times each side is measured
    :param sides: one measurement of each side, given the pair's index
    :return: each side's measurements, in pair order
    """
    results: dict[Key, list[Result]] = {key: [] for key in sides}
    order = list(sides)
    for pair in range(pairs):
        for key in order if pair % 2 == 0 else order[::-1]:
            results[key].append(sides[key](pair))
    return results


class Timings:
    """Seconds spent inside chosen functions, call by call, by label."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = defaultdict(list)

    def total(self, label: str) -> float:
        return sum(self.calls[label])

    @contextmanager
    def patched(self, targets: list[tuple[Any, str, str]]) -> Iterator[None]:
        """Time ``owner.name`` (a module, class or instance attribute) under ``label`` for
        each ``(owner, name, label)`` while the context is open."""
        originals = [(owner, name, getattr(owner, name)) for owner, name, _ in targets]
        for (owner, name, label), (_, _, original) in zip(targets, originals, strict=True):
            setattr(owner, name, self._timed(original, label))
        try:
            yield
        finally:
            for owner, name, original in reversed(originals):
                setattr(owner, name, original)

    def _timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.calls[label].append(time.perf_counter() - start)

        return timed


def run_timed(command: list[str], cwd: Path) -> tuple[float, str]:
    """Run ``command`` in ``cwd``; returns its wall seconds from spawn to exit, and its stdout.

    The child finds ``benchmarks`` (and whatever ``PYTHONPATH`` already held) from any folder.

    :raises RuntimeError: when it fails, with the end of its stderr
    """
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(command)} exited with {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return seconds, done.stdout
