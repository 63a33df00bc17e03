"""Smoke tests: every benchmark runs in its ``--quick`` size and prints its tables, so the
scripts cannot rot. No timing is asserted (the machines are shared and noisy)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "env_throughput": [
        "| env | steps/s median | min-max |",
        "| Robot6Reach-v0 |",
        "| PandaReachDense-v3 |",
        "ratio Robot6Reach-v0 / PandaReachDense-v3:",
    ],
    "overhead": [
        "| plain SB3 learn |",
        "| robot6 stack |",
        "Wall-time ratio robot6 / plain:",
        "| whole save, `_save` (training thread) |",
        "| TensorBoard dump (training thread) |",
        "| whole write job, `RunFiles._save` (writer thread) |",
        "| latest.pth write (writer thread) |",
        "| CSV row append (writer thread) |",
        "| replay log segment (writer thread) |",
    ],
    "throughput": [
        "| `robot6 train --episodes",
        "| plain SB3 `SAC(...).learn(",
        "Wall-time ratio robot6 / plain, whole command:",
        "| SAC |",
        "| TQC |",
        "| **measured total** |",
    ],
    "engine": [
        "| SAC | sb3 |",
        "| SAC | fast (eager) |",
        "| TQC | fast (eager) |",
        "| `robot6 train --algo sac --engine fast` |",
        "| `robot6 train --algo tqc --engine sb3` |",
        "| plain SB3 `TQC(...).learn(",
        "Targets ",
    ],
    "checkpoint_cost": [
        "| transitions in buffer | training thread per save | writer thread per save |",
        "| 10,000 |",
        "Replay log on disk:",
        "| new run |",
        "| resume, 10,000 transitions |",
    ],
    "time_to_skill": [
        "| SAC | Robot6Reach-v0 (robot6 defaults) | 0 |",
        "| SAC | PandaReachDense-v3 (SB3 defaults) | 0 |",
        "- SAC on Robot6Reach-v0:",
    ],
    "vec_envs": [
        "### Whole command",
        "### Inside `learn`",
        "| 2 | subproc |",
        "| SAC | Robot6ReachGoal-v0 (robot6 defaults, HER) | 0 |",
        "- SAC on Robot6ReachGoal-v0:",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_quick_run_prints_its_tables(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.main(["--quick"]) == 0
    output = capsys.readouterr().out
    for line in EXPECTED[name]:
        assert line in output, f"{name} --quick printed no {line!r}:\n{output}"


def test_every_benchmark_is_run_by_make_bench() -> None:
    from benchmarks.__main__ import BENCHMARKS

    assert sorted(benchmark.name for benchmark in BENCHMARKS) == sorted(EXPECTED)


def test_runner_writes_results_and_keeps_notes(tmp_path: Path) -> None:
    from benchmarks.__main__ import NOTES_MARKER

    results = tmp_path / "RESULTS.md"
    results.write_text(f"# old\n\nstale numbers\n\n{NOTES_MARKER}\n\nkept note\n")
    command = ["-m", "benchmarks", "--quick", "--only", "env_throughput", "--output", str(results)]
    done = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = results.read_text()
    assert "stale numbers" not in text
    assert text.endswith(f"{NOTES_MARKER}\n\nkept note\n")
    for expected in (
        "## Machine and versions",
        "- CPU: ",
        "- versions: python ",
        "stable-baselines3 ",
        "sb3-contrib ",
        ".venv/bin/python -m benchmarks.env_throughput --quick",
        "## Env throughput",
        "| Robot6Reach-v0 |",
    ):
        assert expected in text, f"no {expected!r} in:\n{text}"
    assert "argv[" not in text  # PyBullet's C-level noise is filtered out
