"""Rows of an SB3 replay buffer, copied out for the replay log and put back on resume.

A *row* is what one ``VecEnv`` step adds: one transition per sub-env, so every array has the
buffer's ``(rows, n_envs, ...)`` layout. ``ReplayBuffer``, ``NStepReplayBuffer``,
``DictReplayBuffer`` and ``HerReplayBuffer`` are supported. Dict observations are stored one
array per key (``observations:desired_goal``). For HER the log also keeps each row's
episode start; the episode lengths HER samples from are derived from the rows when the buffer
is rebuilt, exactly as HER's own ``add`` would have left them.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.buffers import DictReplayBuffer, NStepReplayBuffer, ReplayBuffer
from stable_baselines3.her.her_replay_buffer import HerReplayBuffer

from robot6_sb3.errors import UnsupportedSetupError

Rows = dict[str, np.ndarray]

SUPPORTED_BUFFERS = (ReplayBuffer, NStepReplayBuffer, DictReplayBuffer, HerReplayBuffer)
PLAIN_FIELDS = ("actions", "rewards", "dones", "timeouts")
OBSERVATION_FIELDS = ("observations", "next_observations")
HER_EPISODE_START = "ep_start"


def check_loggable(buffer: ReplayBuffer) -> None:
    """:raises UnsupportedSetupError: for a buffer whose rows the log cannot reproduce."""
    if type(buffer) not in SUPPORTED_BUFFERS:
        raise UnsupportedSetupError(
            f"the replay log cannot store a {type(buffer).__name__} (it knows "
            f"{', '.join(cls.__name__ for cls in SUPPORTED_BUFFERS)}); pass replay_log=False "
            "to save checkpoints without the buffer (resume is then not exact)"
        )
    if buffer.optimize_memory_usage:
        raise UnsupportedSetupError(
            "optimize_memory_usage=True keeps each next observation in the following row, "
            "which the replay log cannot rebuild; train with optimize_memory_usage=False, or "
            "pass replay_log=False (resume is then not exact)"
        )
    if isinstance(buffer, HerReplayBuffer) and buffer.copy_info_dict:
        raise UnsupportedSetupError(
            "HerReplayBuffer(copy_info_dict=True) keeps every step's info dict, which is not "
            "plain data the log can store; use copy_info_dict=False, or pass replay_log=False"
        )


def _arrays(buffer: ReplayBuffer) -> dict[str, np.ndarray]:
    """Every logged array of ``buffer`` by its log name (views, not copies)."""
    arrays: dict[str, np.ndarray] = {}
    for field in OBSERVATION_FIELDS:
        value = getattr(buffer, field)
        if isinstance(value, dict):
            arrays.update({f"{field}:{key}": item for key, item in value.items()})
        else:
            arrays[field] = value
    arrays.update({field: getattr(buffer, field) for field in PLAIN_FIELDS})
    if isinstance(buffer, HerReplayBuffer):
        arrays[HER_EPISODE_START] = buffer.ep_start
    return arrays


def field_names(buffer: ReplayBuffer) -> list[str]:
    """The names of the arrays a segment of ``buffer``'s rows holds."""
    return sorted(_arrays(buffer))


def rows_since(buffer: ReplayBuffer, count: int, new: int) -> Rows:
    """Copies of the ``new`` newest rows of ``buffer``, which has received ``count`` in all."""
    if new > buffer.buffer_size:
        raise ValueError(f"{new} rows since the last save exceed buffer_size={buffer.buffer_size}")
    indices = np.arange(count - new, count) % buffer.buffer_size
    return {name: array[indices].copy() for name, array in _arrays(buffer).items()}


def fill_buffer(buffer: ReplayBuffer, rows: Rows, count: int) -> None:
    """Put the newest ``rows`` (ending at row ``count`` of the run) where SB3 would have put
    them, and set ``pos``, ``full`` (and HER's episode bookkeeping) to match.

    :raises ValueError: when ``rows`` lacks a field of ``buffer`` or has the wrong shape
    """
    size = buffer.buffer_size
    targets = _arrays(buffer)
    missing = sorted(set(targets) - set(rows))
    if missing:
        raise ValueError(f"the replay log has no {', '.join(missing)} for this buffer")
    new = len(rows["rewards"])
    keep = min(new, size)
    indices = np.arange(count - keep, count) % size
    for name, target in targets.items():
        source = rows[name][new - keep :]
        if source.shape[1:] != target.shape[1:]:
            raise ValueError(
                f"the replay log's {name} rows have shape {source.shape[1:]}, the buffer "
                f"expects {target.shape[1:]} (another n_envs or observation size?)"
            )
        target[indices] = source
    buffer.pos = count % size
    buffer.full = count >= size
    if isinstance(buffer, HerReplayBuffer):
        _rebuild_her_episodes(buffer, count, keep)


def _rebuild_her_episodes(buffer: HerReplayBuffer, count: int, keep: int) -> None:
    """Set ``ep_length`` and ``_current_ep_start`` as HER's ``add`` leaves them.

    HER gives every row of an ended episode the episode's length, and zeroes it once the
    episode's first row has been overwritten; rows of the unfinished episode have 0. Each
    row's episode start (a buffer index) is logged, so the global start follows from it.
    """
    size = buffer.buffer_size
    buffer.ep_length[:] = 0
    for env in range(buffer.n_envs):
        start = None  # row of the run where the episode holding the current row began
        for row in range(count - keep, count):
            index = row % size
            if start is None:
                start = row - (index - int(buffer.ep_start[index, env])) % size
            if buffer.dones[index, env]:
                if start >= count - size:  # its first row was not overwritten
                    buffer.ep_length[np.arange(start, row + 1) % size, env] = row + 1 - start
                start = row + 1
        buffer._current_ep_start[env] = (count if start is None else start) % size
