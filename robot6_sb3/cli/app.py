"""The ``robot6`` Typer app and what every command shares: consoles, common options, and
turning the project's errors into a message on stderr and an exit code (no traceback).

Exit codes: 0 done, 1 a file could not be written, 2 bad input (nothing written),
130 / 143 stopped by Ctrl-C / SIGTERM after saving cleanly.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from robot6_sb3 import __version__
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.errors import (
    CheckpointWriteError,
    ReplayHistoryError,
    Robot6Warning,
    TrainingDivergedError,
    UsageError,
)

app = typer.Typer(
    name="robot6",
    help="Train a 6-DOF PyBullet arm with Stable-Baselines3; stop at any moment, resume exactly.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
# Piped output (logs, scripts, tests) gets wide tables instead of Rich's 80-column default.
# Markup is off: what is printed holds paths, file contents and option values as the user
# gave them, and a "[/x]" in one of those must print as it is, not be read as a style.
PIPE_WIDTH = 160
out = Console(
    highlight=False,
    markup=False,
    soft_wrap=True,
    width=None if sys.stdout.isatty() else PIPE_WIDTH,
)
err = Console(stderr=True, highlight=False, markup=False, soft_wrap=True)

LONGEST_WORD = 200
"""Characters of one word (a path, a value from a file) an error message shows in full."""
LONGEST_MESSAGE = 2_000
"""Characters of an error message; a longer one keeps its beginning and its end (the remedy)."""

CheckpointsDir = Annotated[
    Path,
    typer.Option(help="Folder holding one sub-folder of checkpoints per run.", file_okay=False),
]
RunsDir = Annotated[
    Path,
    typer.Option(
        help="Folder holding one sub-folder of TensorBoard events and CSV per run.",
        file_okay=False,
    ),
]


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]
DeviceOption = Annotated[str, typer.Option(help="Where to run the networks: auto, cpu or cuda.")]


OPTION_NAMES = {"env_id": "--env", "replay_log": "--buffer/--no-buffer"}
"""Options named otherwise than ``--`` and their field's name with dashes."""


def option_names(field: str) -> str:
    """How a command declares the option of settings field ``field`` (``--buffer/--no-buffer``)."""
    return OPTION_NAMES.get(field, "--" + field.replace("_", "-"))


def flag(field: str) -> str:
    """The flag a user types for settings field ``field`` (``--learning-rate``, ``--env``)."""
    return option_names(field).partition("/")[0]


def shown(path: Path) -> str:
    """``path`` as the user would type it: relative to the working directory when inside it."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def venv_command(name: str) -> str:
    """How to run the program ``name`` of this installation, so that a printed command runs
    as printed from the working directory in a fresh shell: ``name`` where it is installed
    for everyone, else the path of the virtual environment's script (``.venv/bin/name``),
    which a fresh shell does not find on its PATH."""
    if sys.prefix == sys.base_prefix:
        return name
    return shlex.quote(shown(Path(sys.executable).parent / name))


def robot6_command() -> str:
    """:func:`venv_command` of ``robot6`` (or ``python -m robot6_sb3`` where the script is
    missing, as when running from a source tree)."""
    if sys.prefix != sys.base_prefix and not (Path(sys.executable).parent / "robot6").is_file():
        return f"{shlex.quote(shown(Path(sys.executable)))} -m robot6_sb3"
    return venv_command("robot6")


def human_size(size: float) -> str:
    """A byte count for people: 512 B, 1.4 MB."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_output_path(path: Path, suffixes: Sequence[str], option: str) -> Path:
    """``path`` if a file with one of ``suffixes`` can be written there, else a usage error.

    :param path: the file to be created or replaced
    :param suffixes: accepted endings, lower case with the dot (``".png"``)
    :param option: how the user gave the path (``"--plot"``), for the message
    :raises UsageError: for a wrong suffix, a missing or read-only folder, or a folder in
        the file's place
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UsageError(
            f"{option} {path} must end with {' or '.join(suffixes)}, got "
            f"{path.suffix or 'no suffix'}"
        )
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UsageError(
            f"{option} {path}: {folder} {what}; create the folder or pick another path"
        )
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name inside it")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"{option} {path} cannot be written (permission denied); pick another path"
        )
    return path


def readable(message: str) -> str:
    """``message`` as one paragraph of sensible length: whitespace runs become one space,
    and overlong words and messages are cut in the middle."""
    words = [
        word
        if len(word) <= LONGEST_WORD
        else f"{word[:90]}...({len(word)} characters)...{word[-90:]}"
        for word in message.split()
    ]
    text = " ".join(words)
    if len(text) > LONGEST_MESSAGE:
        half = LONGEST_MESSAGE // 2
        text = f"{text[:half]} ... {text[-half:]}"
    return text


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as an error on stderr; returns the ``typer.Exit`` to raise."""
    err.print(Text.assemble(("error:", "bold red"), " ", readable(message)))
    return typer.Exit(code=code)


EXIT_WRITE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3


def kept_checkpoint(checkpoint: Path | None) -> str:
    """What a stopped run still has, for an error message."""
    if checkpoint is None:
        return "nothing was saved"
    return f"the last good checkpoint, {shown(checkpoint)}, is intact"


@contextlib.contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """Turn the project's errors into a one-paragraph message and an exit code: 2 bad input,
    1 a file could not be written, 3 training diverged."""
    try:
        yield
    except ReplayHistoryError as exc:
        raise fail(str(exc).replace("replay_log=False", "--no-buffer"), EXIT_BAD_INPUT) from None
    except ConfigError as exc:
        raise fail(f"{flag(exc.field)} {exc.problem}", EXIT_BAD_INPUT) from None
    except UsageError as exc:
        raise fail(str(exc), EXIT_BAD_INPUT) from None
    except CheckpointWriteError as exc:
        raise fail(
            f"stopped because a file could not be written: {exc}. "
            f"{kept_checkpoint(exc.checkpoint).capitalize()}; free space or fix permissions"
            + (", then resume." if exc.checkpoint else ", then start again."),
            EXIT_WRITE_FAILED,
        ) from None
    except TrainingDivergedError as exc:
        raise fail(
            f"{exc}. Nothing non-finite was saved; {kept_checkpoint(exc.checkpoint)}. "
            "A lower learning rate usually helps.",
            EXIT_DIVERGED,
        ) from None


def _print_version(value: bool) -> None:
    if value:
        out.print(f"robot6-sb3 {__version__}")
        raise typer.Exit()


_python_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any
) -> None:
    """The project's own warnings as one plain line; others as Python shows them."""
    if issubclass(category, Robot6Warning):
        err.print(f"warning: {readable(str(message))}")
    else:
        _python_showwarning(message, category, *args, **kwargs)


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
    warnings.showwarning = _show_warning
