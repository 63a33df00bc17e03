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


def write_rows_before(source: Path, target: Path, episode: int) -> int:
    """Write ``target`` with the header and the rows of ``source`` whose episode is below
    ``episode``; ``source`` and ``target`` may be the same file. Returns the rows kept."""
    rows = [row for row in read_rows(source) if int(row["episode"]) < episode]
    columns = list(CSV_COLUMNS)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(target), text.getvalue().encode())
    return len(rows)
