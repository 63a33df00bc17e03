"""robot6-sb3: Stable-Baselines3 training that stops at any moment and resumes exactly.

The extension API, for your own SB3 scripts::

    from robot6_sb3 import ResumableCheckpointCallback, load_resumable

    model.learn(10_000, callback=ResumableCheckpointCallback("checkpoints/run1", "runs/run1"))
    model, callback = load_resumable("checkpoints/run1/latest.pth", env)
    model.learn(10_000, callback=callback, reset_num_timesteps=False)

Importing this package registers the Robot6 Gymnasium environments (see ``robot6_envs``).
The API names load SB3 and PyTorch on first use, so the command line starts quickly.
"""

from typing import TYPE_CHECKING, Any

import robot6_envs  # noqa: F401  (registers the envs with Gymnasium)

__version__ = "0.1.0"

__all__ = ["InexactResumeWarning", "ResumableCheckpointCallback", "load_resumable"]

if TYPE_CHECKING:
    from robot6_sb3.resumable_callback import InexactResumeWarning, ResumableCheckpointCallback
    from robot6_sb3.resume import load_resumable


def __getattr__(name: str) -> Any:
    if name in ("ResumableCheckpointCallback", "InexactResumeWarning"):
        from robot6_sb3 import resumable_callback

        return getattr(resumable_callback, name)
    if name == "load_resumable":
        from robot6_sb3.resume import load_resumable

        return load_resumable
    raise AttributeError(f"module 'robot6_sb3' has no attribute {name!r}")
