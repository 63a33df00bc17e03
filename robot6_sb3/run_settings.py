"""How a run writes its files: kept in every checkpoint's metadata, reused by a resume unless
told otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robot6_sb3.config_fields import check_fields, setting


@dataclass(frozen=True)
class RunSettings:
    """How the run writes its files; checked when made (:class:`ConfigError` names the
    field)."""

    save_every: int = setting(50, at_least=1)
    """Completed episodes between two ckpt_ep_N.pth files."""
    keep_last: int | None = setting(None, at_least=1)
    """Keep only this many newest ckpt_ep_N.pth files of the run (unset: all); latest.pth and
    best.pth always stay."""
    replay_log: bool = setting(True)
    """Log the replay buffer, which exact resume needs; without it a resumed run starts with
    an empty buffer."""
    eval_every: int | None = setting(None, at_least=1)
    """Completed episodes between two deterministic evaluations; the best one is kept as
    best_eval.pth (unset: no evaluations)."""
    eval_episodes: int = setting(20, at_least=1)
    """Episodes per evaluation."""
    log_dir: str | None = None
    """The run's log folder (CSV, TensorBoard), relative to its checkpoint folder; ``None``
    for a run of format 1, whose logs are in ``runs/<run>``."""

    def __post_init__(self) -> None:
        check_fields(self)

    def options(self) -> dict[str, Any]:
        """The settings a caller chooses, as keyword arguments of
        :class:`~robot6_sb3.ResumableCheckpointCallback` and :func:`~robot6_sb3.load_resumable`."""
        return {name: getattr(self, name) for name in CHOSEN}

    @staticmethod
    def relative_log_dir(log_path: Path, save_path: Path) -> str:
        """``log_path`` as :attr:`log_dir` stores it, relative to the checkpoint folder (so
        moving the project folder keeps it right)."""
        return os.path.relpath(Path(log_path).absolute(), Path(save_path).absolute())


CHOSEN = ("save_every", "keep_last", "replay_log", "eval_every", "eval_episodes")
"""The fields a caller chooses (``log_dir`` follows from where the logs are written)."""
