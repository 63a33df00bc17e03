"""The ``robot6`` Typer app and what every command shares: consoles, common options, and
turning the project's errors into a message on stderr and an exit code (no traceback).

Exit codes: 0 done, 1 a file could not be written, 2 bad input (nothing written),
130 / 143 stopped by Ctrl-C / SIGTERM after saving cleanly.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from robot6_sb3 import __version__
from robot6_sb3.errors import CheckpointWriteError, MissingReplayError, UsageError

app = typer.Typer(
    name="robot6",
    help="Train a 6-DOF PyBullet arm with Stable-Baselines3; stop at any moment, resume exactly.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
# Piped output (logs, scripts, tests) gets wide tables instead of Rich's 80-column default.
PIPE_WIDTH = 160
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

CheckpointsDir = Annotated[
    Path, typer.Option(help="Folder holding one sub-folder of checkpoints per run.")
]
RunsDir = Annotated[
    Path, typer.Option(help="Folder holding one sub-folder of TensorBoard events and CSV per run.")
]


def shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when inside it."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def human_size(size: float) -> str:
    """A byte count for people: 512 B, 1.4 MB."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error on stderr; returns the ``typer.Exit`` to raise."""
    err.print(f"[bold red]error:[/] {message}", markup=True)
    return typer.Exit(code=code)


@contextlib.contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Turn the project's errors into a one-paragraph message and exit 2 (bad input) or 1."""
    try:
        yield
    except MissingReplayError as exc:
        raise fail(str(exc).replace("replay_log=False", "--no-buffer"), 2) from None
    except UsageError as exc:
        raise fail(str(exc), 2) from None
    except CheckpointWriteError as exc:
        raise fail(
            f"stopped because a file could not be written: {exc}. The last complete "
            "checkpoint is intact; free space or fix permissions, then resume.",
            1,
        ) from None


def _print_version(value: bool) -> None:
    if value:
        out.print(f"robot6-sb3 {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Train a 6-DOF PyBullet arm with Stable-Baselines3; stop at any moment, resume exactly."""
