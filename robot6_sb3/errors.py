"""The project's own exceptions; the CLI turns them into a message and an exit code."""

from __future__ import annotations

from pathlib import Path


class Robot6Error(Exception):
    """Base class of every error the project raises on purpose."""


class UsageError(Robot6Error):
    """Bad input from the user (an option value, a path, an incompatible setting): exit 2."""


class CheckpointError(UsageError):
    """A checkpoint file that cannot be used: unreadable, not a checkpoint, or invalid."""


class ReplayHistoryError(CheckpointError):
    """The replay rows a checkpoint needs are missing, damaged or another run's; resuming
    without the buffer (not exact) is the way out."""


class IncompatibleCheckpointError(UsageError):
    """A valid checkpoint that cannot serve the requested run (other env, dims, net_arch, algo)."""


class RunLockedError(UsageError):
    """Another live process is writing the run."""


class Robot6Warning(UserWarning):
    """Base class of the warnings the project gives on purpose (the CLI prints them plainly)."""


class RepairedLogWarning(Robot6Warning):
    """A run's log was damaged or deleted and has been rebuilt where the files allowed."""


class EngineChangedWarning(Robot6Warning):
    """A run resumed with another gradient engine than the one that made its checkpoint: it
    continues, but not bitwise as it would have with its own engine."""


class CheckpointWriteError(Robot6Error):
    """Saving failed (disk full, read-only folder, permission denied): exit 1.

    :param checkpoint: the run's last complete ``latest.pth``, where the caller knows it
    """

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class TrainingDivergedError(Robot6Error):
    """Training produced NaN or infinite weights; nothing non-finite was saved: exit 3.

    :param checkpoint: the run's last finite ``latest.pth`` (``None`` when nothing was saved)
    """

    def __init__(self, message: str, checkpoint: Path | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class UnsupportedSetupError(UsageError):
    """A model, env or buffer the checkpoint callback cannot save exactly; raised when training
    starts, before any file is written."""
