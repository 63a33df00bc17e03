"""Reading and rewriting a run's ``training.csv`` (the per-episode log, SPEC 4).

Rows are appended by :class:`robot6_sb3.episode_logs.CsvLog`; this module handles the
rewrites that resume needs: drop rows a checkpoint does not cover, or start a forked run's CSV
with its parent's rows. Rewrites are atomic, so a crash leaves the old file or the new one.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.layout import CSV_COLUMNS


def read_rows(path: Path) -> list[dict[str, str]]:
    """The complete rows of a CSV log as dicts keyed by column (an absent file has none).

    A row cut short by a crash in the middle of an append lacks its last columns and is left
    out, so a torn line can never pass for an episode.
    """
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        return [
            row
            for row in reader
            if row.get("episode", "").isdigit() and all(row.get(c) is not None for c in columns)
        ]


def episode_rows(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    """The rows of a CSV log whose episode, global_step and episode_reward are numbers, and a
    note for every other row (file and line), so that one damaged row costs only itself.

    A row cut short by a crash at the end of the file is left out without a note.
    """
    path = Path(path)
    if not path.exists():
        return [], []
    text = path.read_text(errors="replace")
    last_line = len(text.splitlines())
    rows, notes = [], []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    for row in reader:
        complete = all(row.get(column) is not None for column in columns)
        problem = _row_problem(row) if complete else "too few columns"
        if problem is None:
            rows.append(row)
        elif complete or reader.line_num < last_line:
            notes.append(f"{path}, line {reader.line_num}: {problem}; skipped")
    return rows, notes


def _row_problem(row: dict[str, str]) -> str | None:
    for column, kind in (("episode", int), ("global_step", int), ("episode_reward", float)):
        value = row.get(column)
        try:
            kind(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            shown = repr(value) if value is None or len(value) <= 40 else repr(value[:40] + "...")
            return f"{column} is {shown}, not a number"
    return None


def write_rows(
    target: Path, rows: list[dict[str, object]], columns: tuple[str, ...] = CSV_COLUMNS
) -> None:
    """Write ``target`` (atomically) with the header and ``rows`` (dicts keyed by column)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(
        text, fieldnames=list(columns), extrasaction="ignore", lineterminator="\r\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(target), text.getvalue().encode())
