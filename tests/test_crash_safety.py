"""Crash safety: kills at any instant, Ctrl-C and SIGTERM, one writer per run, full disks.

The subprocess tests run ``python -m robot6_sb3 train`` like a user's terminal would.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from robot6_sb3 import atomic
from robot6_sb3.atomic import SLOW_WRITES_ENV, TEMP_PREFIX
from robot6_sb3.checkpoint import load_checkpoint
from robot6_sb3.cli import app
from tests.helpers import TINY, load, only_run

EPISODES = 8
TRAIN = ("train", *TINY, "--save-every", "2")


def _start(cwd: Path, *args: str, slow_writes: float = 0.0) -> subprocess.Popen:
    env = dict(os.environ, **({SLOW_WRITES_ENV: str(slow_writes)} if slow_writes else {}))
    return subprocess.Popen(
        [sys.executable, "-m", "robot6_sb3", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, process: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"exited early ({process.returncode}):\n{out}\n{err}")
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has installed a SIGTERM handler (Linux's /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


def _temp_files(root: Path) -> list[Path]:
    return list(root.rglob(TEMP_PREFIX + "*"))


def _csv(root: Path, run: str) -> str:
    return (root / "runs" / run / "training.csv").read_text()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> str:
    """training.csv of the same run, never interrupted."""
    root = tmp_path_factory.mktemp("reference")
    result = CliRunner().invoke(
        app,
        [*TRAIN, "--episodes", str(EPISODES), "--checkpoints-dir", str(root / "checkpoints"),
         "--runs-dir", str(root / "runs")],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return _csv(root, only_run(root / "checkpoints").name)


@pytest.mark.slow
def test_twenty_kills_including_mid_write_lose_nothing(reference: str, tmp_path: Path) -> None:
    rng = random.Random(2026)
    kills = mid_write = 0
    while kills < 20:
        args = [*TRAIN, "--episodes", str(EPISODES)] + (["--resume"] if kills else [])
        process = _start(tmp_path, *args, slow_writes=0.03)
        _wait_for(lambda: list(tmp_path.glob("checkpoints/*/latest.pth")), process)
        if kills % 2 == 0:  # land inside a write: a temporary file exists right now
            _wait_for(lambda: _temp_files(tmp_path / "checkpoints"), process)
            time.sleep(rng.uniform(0, 0.02))
        else:
            time.sleep(rng.uniform(0, 0.6))
        if process.poll() is not None:
            break  # the run finished before this kill; the checks below still apply
        mid_write += bool(_temp_files(tmp_path / "checkpoints"))
        process.kill()
        process.wait()
        kills += 1
        for path in (tmp_path / "checkpoints").rglob("*.pth"):
            load_checkpoint(path)  # every checkpoint on disk loads after every kill

    final = _start(tmp_path, *TRAIN, "--resume", "--episodes", str(EPISODES))
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, out + err

    run = only_run(tmp_path / "checkpoints")
    assert load(run / "latest.pth")["episode"] == EPISODES
    assert _csv(tmp_path, run.name) == reference, (
        "every episode once, in order, bitwise as uninterrupted"
    )
    assert not _temp_files(tmp_path)
    print(f"\ninjected {kills} kills, {mid_write} of them mid-write")
    assert kills >= 20 and mid_write >= 10


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "twice"),
    [(signal.SIGINT, 130, False), (signal.SIGTERM, 143, False), (signal.SIGINT, 130, True)],
    ids=["sigint", "sigterm", "sigint-twice"],
)
def test_a_signal_stops_cleanly_and_prints_the_resume_command(
    reference: str, tmp_path: Path, signum: int, code: int, twice: bool
) -> None:
    process = _start(tmp_path, *TRAIN, "--episodes", str(EPISODES))
    _wait_for(lambda: list(tmp_path.glob("checkpoints/*/latest.pth")), process)
    process.send_signal(signum)
    if twice:
        time.sleep(0.01)
        process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == code, out + err
    assert f"{signal.Signals(signum).name} received" in err
    assert "Traceback" not in out + err
    run = only_run(tmp_path / "checkpoints")
    latest = load(run / "latest.pth")
    rows = _csv(tmp_path, run.name).splitlines()[1:]
    assert len(rows) == latest["episode"], "CSV and latest.pth agree"
    assert f"{latest['episode']} episodes, global_step {latest['global_step']}," in out
    assert not _temp_files(tmp_path)
    command = out.split("Resume with:\n", 1)[1].strip().splitlines()[0]
    assert f"train --resume-ckpt checkpoints/{run.name}/latest.pth --episodes {EPISODES}" in command

    # Exactly as printed, in a fresh shell whose PATH does not hold the virtual environment:
    # the run's settings (network, batch size, save_every...) come from the checkpoint.
    shell_env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    shell_env["PATH"] = "/usr/bin:/bin"
    resumed = subprocess.run(
        command,
        shell=True,
        cwd=tmp_path,
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert _csv(tmp_path, run.name) == reference


@pytest.mark.slow
def test_bursts_of_signals_at_any_instant_always_exit_130_or_143(tmp_path: Path) -> None:
    rng = random.Random(11)
    outcomes: dict[str, int] = {}
    for batch in range(5):  # 4 processes at a time, 20 in all
        started = []
        for index in range(4):
            folder = tmp_path / f"{batch}-{index}"
            folder.mkdir()
            process = _start(folder, *TRAIN, "--episodes", "12")
            # Half of the bursts come at a random instant of start-up (imports, building),
            # half at one of training and saving: once the first checkpoint is on disk.
            after_a_save = folder if index % 2 else None
            delay, seed = rng.uniform(0.0, 1.5), rng.random()
            bursts: list[list[int]] = []
            thread = threading.Thread(
                target=lambda p=process, f=after_a_save, d=delay, s=seed, b=bursts: b.append(
                    _burst_after_start(p, f, d, random.Random(s))
                )
            )
            thread.start()
            started.append((folder, process, thread, bursts))
        for folder, process, thread, bursts in started:
            out, err = process.communicate(timeout=120)
            thread.join()
            burst = bursts[0]
            if process.returncode == 0:
                outcomes["finished first"] = outcomes.get("finished first", 0) + 1
                continue
            # Signals pending together are handled in signal-number order, so either kind
            # may count as the first one.
            assert process.returncode in {128 + signum for signum in burst}, (burst, out, err)
            assert "Traceback" not in out + err, err
            saved = list(folder.glob("checkpoints/*/latest.pth"))
            if saved:
                assert "Resume with:" in out, out + err
                load_checkpoint(saved[0])
            assert not _temp_files(folder)
            kind = "after a save" if saved else "before any save"
            outcomes[kind] = outcomes.get(kind, 0) + 1
    print(f"\n20 bursts: {outcomes}")
    assert outcomes.get("after a save", 0) >= 5 and outcomes.get("before any save", 0) >= 5


def _burst_after_start(
    process: subprocess.Popen, saved_in: Path | None, delay: float, rng: random.Random
) -> list[int]:
    """Once ``process`` handles signals (and, with ``saved_in``, once a checkpoint is in that
    folder), wait ``delay`` seconds, then send 2 to 6 SIGINTs and SIGTERMs, each within 2 ms
    of the last.

    Signals in the interpreter's own first instants, before robot6's code runs, get the
    operating system's default action; from robot6's first line on, they are handled.
    """
    burst = [rng.choice((signal.SIGINT, signal.SIGTERM)) for _ in range(rng.randint(2, 6))]
    while process.poll() is None and not _catches_sigterm(process.pid):
        time.sleep(0.002)
    while saved_in is not None and process.poll() is None:
        if list(saved_in.glob("checkpoints/*/latest.pth")):
            break
        time.sleep(0.005)
    time.sleep(delay)
    for signum in burst:
        if process.poll() is None:
            process.send_signal(signum)
        time.sleep(rng.uniform(0.0, 0.002))
    return burst


@pytest.mark.slow
def test_a_second_writer_is_refused_and_a_dead_ones_lock_is_not_stale(
    robot6, workdir: Path
) -> None:
    assert robot6("train", *TINY, "--episodes", "1").exit_code == 0
    run = only_run(workdir / "checkpoints")
    first = _start(workdir, "train", *TINY, "--resume", "--episodes", "500")
    _wait_for(lambda: load(run / "latest.pth")["episode"] > 1, first)

    second = robot6("train", *TINY, "--resume", "--episodes", "600")

    assert second.exit_code == 2
    assert f"run {run.name} is being written by pid {first.pid}" in second.stderr
    assert only_run(workdir / "checkpoints") == run, "the refused process created no run"
    first.kill()
    first.wait()
    third = robot6(
        "train", *TINY, "--resume", "--episodes", str(load(run / "latest.pth")["episode"] + 1)
    )
    assert third.exit_code == 0, third.output


@pytest.mark.parametrize(
    ("error", "text"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
    ids=["disk-full", "read-only"],
)
def test_a_failing_disk_stops_with_exit_1_and_keeps_the_last_checkpoint(
    robot6, workdir: Path, monkeypatch: pytest.MonkeyPatch, error: int, text: str
) -> None:
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) > 12:
            raise OSError(error, os.strerror(error))
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", failing_fsync)

    result = robot6("train", *TINY, "--episodes", "20")

    assert result.exit_code == 1, result.output
    assert text in result.stderr and "Traceback" not in result.output
    assert (
        f"last good checkpoint, checkpoints/{only_run(workdir / 'checkpoints').name}/latest.pth, is intact"
        in result.stderr
    )
    run = only_run(workdir / "checkpoints")
    episode = load_checkpoint(run / "latest.pth")["episode"]
    assert 1 <= episode < 20
    assert not _temp_files(workdir)
    monkeypatch.undo()
    resumed = robot6("train", *TINY, "--resume", "--episodes", str(episode + 1))
    assert resumed.exit_code == 0, resumed.output


def test_a_moved_checkpoints_folder_still_resumes_exactly(robot6, workdir: Path) -> None:
    robot6("train", *TINY, "--episodes", "4", "--save-every", "2")
    parent = only_run(workdir / "checkpoints")
    robot6(
        "train",
        *TINY,
        "--resume-ckpt",
        f"checkpoints/{parent.name}/ckpt_ep_2.pth",
        "--episodes",
        "3",
    )
    shutil.move(workdir / "checkpoints", workdir / "elsewhere")
    fork = next(p for p in (workdir / "elsewhere").iterdir() if p.name != parent.name)

    result = robot6(
        "train", *TINY, "--resume-ckpt", f"elsewhere/{fork.name}/latest.pth", "--episodes", "4"
    )

    assert result.exit_code == 0, result.output
    assert load(fork / "latest.pth")["episode"] == 4
    assert (fork / "replay").is_dir() and not (workdir / "checkpoints").exists()
    again = robot6(
        "train", *TINY, "--resume-ckpt", f"elsewhere/{fork.name}/latest.pth", "--episodes", "5"
    )
    assert again.exit_code == 0, again.output


HELD = """\
import os, signal, time
from robot6_sb3.cli.signals import Interrupted, interrupt_on_signals, signals_held

interrupt_on_signals()
try:
    with signals_held():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        print("the block ran to its end")
except Interrupted as stop:
    print("then Interrupted", stop.signum)
"""


def test_a_signal_while_pytorch_loads_is_raised_after_the_import() -> None:
    # Raised inside PyTorch's import, where its C++ code runs Python, the exception would
    # abort the process (pybind11 calls std::terminate) instead of exiting 143.
    done = subprocess.run(
        [sys.executable, "-c", HELD], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip

    assert done.stdout.splitlines() == ["the block ran to its end", "then Interrupted 15"], (
        done.stdout + done.stderr
    )
