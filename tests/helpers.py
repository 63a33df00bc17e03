"""Test helpers: tiny training settings, folder snapshots and bitwise comparisons."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

TINY = (
    "--seed", "3",
    "--net-arch", "32,32",
    "--batch-size", "32",
    "--learning-starts", "60",
    "--buffer-size", "10000",
    "--no-progress",
)  # fmt: skip
"""Small enough to train an episode in well under a second; gradient steps start in episode 2."""


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def only_run(root: Path) -> Path:
    """The single run folder under ``root`` (fails when there are none or several)."""
    runs = sorted(path for path in root.iterdir() if path.is_dir())
    assert len(runs) == 1, f"expected one run in {root}, found {[p.name for p in runs]}"
    return runs[0]


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def tree_bytes(*roots: Path) -> dict[str, bytes | None]:
    """Every file under ``roots`` with its content, and every folder (``None``), to prove
    that nothing was created or changed there."""
    entries: dict[str, bytes | None] = {}
    for root in roots:
        for folder, folders, names in os.walk(root):
            for name in folders:
                entries[os.path.join(folder, name)] = None
            for name in names:
                entries[os.path.join(folder, name)] = Path(folder, name).read_bytes()
    return entries


def assert_same_tensors(a: object, b: object, where: str = "") -> None:
    """Bitwise equality of nested dicts/lists of tensors and plain values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f"tensors differ at {where}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"keys differ at {where}"
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), f"lengths differ at {where}"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{index}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
