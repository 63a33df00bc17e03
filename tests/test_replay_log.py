"""The replay log: segments that are whole, checked on every read and named when they are not;
one verdict on exactness for list-checkpoints, inspect and --resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

from robot6_sb3.replay_log import MERGE_THRESHOLD, ReplayLog, read_lineage, replay_problem
from robot6_sb3.replay_rows import fill_buffer, rows_since
from tests.helpers import TINY, only_run


def _damage(kind: str, segment: Path, other_run: Path) -> None:
    if kind == "truncated":
        data = segment.read_bytes()
        segment.write_bytes(data[: len(data) // 2])
    elif kind == "empty":
        segment.write_bytes(b"")
    elif kind == "flipped-byte":
        data = bytearray(segment.read_bytes())
        data[len(data) // 3] ^= 0xFF
        segment.write_bytes(bytes(data))
    elif kind == "from-another-run":
        shutil.copy(next((other_run / "replay").iterdir()), segment)
    else:
        shutil.rmtree(segment.parent)


@pytest.mark.parametrize(
    "kind", ["truncated", "empty", "flipped-byte", "from-another-run", "folder-gone"]
)
def test_a_damaged_replay_log_is_named_by_every_command_and_never_used(
    robot6, workdir: Path, kind: str
) -> None:
    assert robot6("train", "--episodes", "2", *TINY, "--checkpoints-dir", "other").exit_code == 0
    assert robot6("train", "--episodes", "2", *TINY).exit_code == 0
    run = only_run(workdir / "checkpoints")
    segment = sorted((run / "replay").iterdir())[0]
    _damage(kind, segment, only_run(workdir / "other"))

    listing = json.loads(robot6("list-checkpoints", "--json").stdout)
    inspected = json.loads(robot6("inspect", str(run / "latest.pth"), "--json").stdout)
    resumed = robot6("train", "--resume", "--episodes", "3", *TINY)

    (latest,) = [f for f in listing["runs"][0]["files"] if f["file"] == "latest.pth"]
    if kind == "flipped-byte":  # found when the rows are read, by their CRC-32
        assert latest["exact"] is inspected["exact"]
    else:
        assert latest["exact"] is inspected["exact"] is False
        assert latest["exact_reason"] == inspected["exact_reason"]
    assert resumed.exit_code == 2, resumed.output
    assert "Traceback" not in resumed.output
    text = " ".join(resumed.stderr.split())
    assert "replay" in text and "--no-buffer" in text, text
    if kind != "folder-gone":
        assert str(segment.name) in text
    without = robot6("train", "--resume", "--episodes", "3", "--no-buffer", *TINY)
    assert without.exit_code == 0, without.output


def test_segments_merge_and_still_read_back_every_row(tmp_path: Path) -> None:
    rows = {"rewards": np.arange(MERGE_THRESHOLD + 150, dtype=np.float32).reshape(-1, 1)}
    starts = range(0, len(rows["rewards"]), 50)
    log = ReplayLog(tmp_path, "run", "id-1")
    for start in starts[:70]:
        log.append(start, {"rewards": rows["rewards"][start : start + 50]})
    log = ReplayLog(tmp_path, "run", "id-1")  # a resumed session finds the small segments
    for start in starts[70:]:
        log.append(start, {"rewards": rows["rewards"][start : start + 50]})

    names = sorted(path.name for path in log.directory.iterdir())
    lineage = [{"run": "run", "run_id": "id-1", "start": 0, "stop": len(rows["rewards"])}]

    assert names[0] == f"seg_{0:012d}-{MERGE_THRESHOLD:012d}.npz", names[:3]
    assert len(names) == 1 + 150 // 50
    assert np.array_equal(read_lineage(tmp_path, lineage, 0)["rewards"], rows["rewards"])
    assert np.array_equal(
        read_lineage(tmp_path, lineage, 9_990)["rewards"], rows["rewards"][9_990:]
    )


def test_a_segment_removed_while_the_run_writes_is_merged_around(tmp_path: Path) -> None:
    rows = {"rewards": np.zeros((50, 1), dtype=np.float32)}
    log = ReplayLog(tmp_path, "run", "id-1")
    for start in range(0, 1_000, 50):
        log.append(start, rows)
    (log.directory / "seg_000000000500-000000000550.npz").unlink()
    for start in range(1_000, 11_000, 50):
        log.append(start, rows)

    names = sorted(path.name for path in log.directory.iterdir())
    merged = f"seg_{550:012d}-{550 + MERGE_THRESHOLD:012d}.npz"
    assert merged in names
    # the ten before the gap, the merged one after it, and the small ones that followed
    assert len(names) == 10 + 1 + (11_000 - 550 - MERGE_THRESHOLD) // 50
    lineage = [{"run": "run", "run_id": "id-1", "start": 0, "stop": 11_000}]
    problem = replay_problem(tmp_path, lineage, keep=1_000_000)
    assert problem is not None and "lacks rows 500..550 " in problem  # the gap, not the rest


def test_her_episode_bookkeeping_is_rebuilt_as_her_left_it() -> None:
    box = spaces.Box(-1, 1, (2,))
    observations = spaces.Dict({"observation": box, "achieved_goal": box, "desired_goal": box})
    rng = np.random.default_rng(0)
    for _ in range(100):
        n_envs = int(rng.integers(1, 4))
        size = int(rng.integers(2, 30)) * n_envs
        original = HerReplayBuffer(
            size, observations, spaces.Box(-1, 1, (1,)), env=None, n_envs=n_envs
        )
        since_done = np.zeros(n_envs, dtype=int)
        count = int(rng.integers(0, 100))
        for _ in range(count):
            obs = {key: rng.random((n_envs, 2)).astype(np.float32) for key in observations.spaces}
            since_done += 1
            # HER itself cannot track an episode longer than its buffer: keep them shorter.
            done = (rng.random(n_envs) < 0.2) | (since_done >= original.buffer_size - 1)
            since_done[done] = 0
            original.add(obs, obs, rng.random((n_envs, 1)), rng.random(n_envs), done, [{}] * n_envs)
        kept = min(count, original.buffer_size)
        rebuilt = HerReplayBuffer(
            size, observations, spaces.Box(-1, 1, (1,)), env=None, n_envs=n_envs
        )

        fill_buffer(rebuilt, rows_since(original, count, kept), count)

        for name in ("ep_start", "ep_length", "_current_ep_start", "dones", "rewards"):
            assert np.array_equal(getattr(original, name), getattr(rebuilt, name)), name
        assert (original.pos, original.full) == (rebuilt.pos, rebuilt.full)
