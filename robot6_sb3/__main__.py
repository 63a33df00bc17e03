"""``python -m robot6_sb3`` runs the ``robot6`` command line."""

from robot6_sb3.cli import app

app(prog_name="robot6")
