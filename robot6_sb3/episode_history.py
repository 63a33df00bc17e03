"""A run's episodes read back from its replay log, for when ``training.csv`` or the run's log
folder was deleted: every row holds each sub-env's reward and whether its episode ended.

What the log cannot give is marked as such: the rewards are summed from the buffer's float32
copies (the CSV has Monitor's sums of the env's floats, rounded to 6 decimals, so the last
decimal may differ), and success and final distance are not in the buffer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from robot6_sb3.episodes import EpisodeRecord
from robot6_sb3.replay_log import Lineage, read_lineage


def episodes_from_replay(root: Path, lineage: Lineage, n_envs: int) -> list[EpisodeRecord] | None:
    """The episodes ``lineage`` records, in the order they ended (by env within a step), or
    ``None`` when the log does not start at the run's first row (so early episodes are gone).

    :param root: the folder holding the run folders the lineage names
    :param lineage: a checkpoint's replay lineage
    :param n_envs: sub-envs of the run (``global_step`` grows by that much per row)
    :raises ReplayHistoryError: when a segment is missing or damaged
    """
    if not lineage or int(lineage[0]["start"]) != 0:
        return None
    rows = read_lineage(root, lineage, 0)
    rewards = rows["rewards"].reshape(len(rows["rewards"]), n_envs).astype(np.float64)
    dones = rows["dones"].reshape(len(rows["dones"]), n_envs) > 0
    totals, lengths = np.zeros(n_envs), np.zeros(n_envs, dtype=int)
    records: list[EpisodeRecord] = []
    for row in range(len(rewards)):
        totals += rewards[row]
        lengths += 1
        for env in np.flatnonzero(dones[row]):
            records.append(
                EpisodeRecord(
                    episode=len(records),
                    global_step=(row + 1) * n_envs,
                    reward=round(float(totals[env]), 6),
                    length=int(lengths[env]),
                    success=None,
                    distance=None,
                )
            )
            totals[env], lengths[env] = 0.0, 0
    return records
