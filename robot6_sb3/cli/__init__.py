"""The ``robot6`` command line: thin Typer commands over the library (one module per group)."""

from robot6_sb3.cli import tools, train  # noqa: F401  (importing registers their commands)
from robot6_sb3.cli import sweep  # noqa: F401  (registers robot6 sweep)
from robot6_sb3.cli.app import app

__all__ = ["app"]
