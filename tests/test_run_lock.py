"""One writer per run: the lock refuses a second holder, names the first, and dies with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from robot6_sb3.errors import RunLockedError
from robot6_sb3.run_lock import RunLock, is_locked


def test_a_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    lock_path = tmp_path / "run" / ".lock"
    lock_path.parent.mkdir()
    with RunLock(lock_path):
        assert is_locked(lock_path)
        with pytest.raises(RunLockedError, match=r"being written by pid \d+"):
            RunLock(lock_path).acquire()
    assert not is_locked(lock_path)


def test_the_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    lock_path = tmp_path / ".lock"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from robot6_sb3.run_lock import RunLock; "
            f"RunLock({str(lock_path)!r}).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    assert is_locked(lock_path)

    holder.kill()
    holder.wait()

    assert not is_locked(lock_path)
    with RunLock(lock_path):
        pass


def test_is_locked_only_reads(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / ".lock"

    assert not is_locked(missing)
    assert not missing.parent.exists()
