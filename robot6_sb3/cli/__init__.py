"""The ``robot6`` command line: thin Typer commands over the library (one module per group)."""

from robot6_sb3.cli import (  # noqa: F401  (importing registers their commands)
    checkpoints,
    evaluate,
    runs,
    sweep,
    train,
)
from robot6_sb3.cli.app import app

__all__ = ["app"]
