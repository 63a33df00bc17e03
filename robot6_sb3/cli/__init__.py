"""The ``robot6`` command line: thin Typer commands over the library (one module per group).

Importing it loads neither PyTorch nor Stable-Baselines3: each command imports the library
modules that need them inside its own body (under :func:`~robot6_sb3.cli.signals.signals_held`,
which holds a signal until the import is done; ``train`` after its stop handlers), so that
``robot6 --help``, ``sweep status`` and the other light commands start quickly.
"""

from robot6_sb3.cli import (  # noqa: F401  (importing registers their commands)
    checkpoints,
    evaluate,
    runs,
    sweep,
    train,
)
from robot6_sb3.cli.app import app

__all__ = ["app"]
