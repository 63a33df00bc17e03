"""The ``robot6`` command line."""

from typing import Annotated

import typer

from robot6_sb3 import __version__

app = typer.Typer(
    name="robot6",
    help="Train a 6-DOF PyBullet arm with Stable-Baselines3; stop at any moment and resume exactly.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"robot6-sb3 {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Train a 6-DOF PyBullet arm with Stable-Baselines3; stop at any moment and resume exactly."""
