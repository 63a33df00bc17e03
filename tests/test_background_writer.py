"""The background writer: jobs run in order, a failure stops the later ones and is raised on
the submitting thread."""

from __future__ import annotations

import threading

import pytest

from robot6_sb3.background_writer import BackgroundWriter


def test_jobs_run_in_submission_order_and_flush_waits_for_them() -> None:
    writer = BackgroundWriter()
    done: list[int] = []
    for number in range(20):
        writer.submit(lambda number=number: done.append(number))

    writer.flush()

    assert done == list(range(20))
    writer.close()


def test_a_failed_job_stops_every_later_one_and_is_raised_at_the_next_submit() -> None:
    writer = BackgroundWriter()
    done: list[str] = []
    failed = threading.Event()

    def fail() -> None:
        failed.set()
        raise OSError(28, "No space left on device")

    writer.submit(lambda: done.append("before"))
    writer.submit(fail)
    writer.submit(lambda: done.append("after"))  # never runs: nothing newer than a failure
    failed.wait(5)

    with pytest.raises(OSError, match="No space left"):
        writer.flush()
    assert done == ["before"]
    writer.submit(lambda: done.append("later"))
    writer.close()
    assert done == ["before"], "a failed writer stays stopped"


def test_close_finishes_the_queue_then_raises_its_error_once() -> None:
    writer = BackgroundWriter()
    writer.submit(lambda: (_ for _ in ()).throw(ValueError("bad")))

    with pytest.raises(ValueError, match="bad"):
        writer.close()
    writer.close()  # a second close has nothing left to say
