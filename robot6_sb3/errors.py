"""The project's own exceptions; the CLI turns them into a message and an exit code."""


class Robot6Error(Exception):
    """Base class of every error the project raises on purpose."""


class UsageError(Robot6Error):
    """Bad input from the user (an option value, a path, an incompatible setting): exit 2."""


class CheckpointError(UsageError):
    """A checkpoint file that cannot be used: unreadable, not a checkpoint, or invalid."""


class MissingReplayError(CheckpointError):
    """A checkpoint whose replay history is not on disk; resuming without the buffer (not
    exact) is the way out."""


class IncompatibleCheckpointError(UsageError):
    """A valid checkpoint that cannot serve the requested run (other env, dims, net_arch, algo)."""


class RunLockedError(UsageError):
    """Another live process is writing the run."""


class CheckpointWriteError(Robot6Error):
    """Saving failed (disk full, read-only folder, permission denied): exit 1."""


class UnsupportedSetupError(UsageError):
    """A model, env or buffer the checkpoint callback cannot save exactly; raised when training
    starts, before any file is written."""
