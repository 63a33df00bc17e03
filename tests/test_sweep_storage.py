"""Opening a study: a failed start leaves nothing new behind, and a read-only look changes
nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

from robot6_sb3.errors import UsageError  # noqa: E402
from robot6_sb3.sweep.settings import SweepSettings  # noqa: E402
from robot6_sb3.sweep.space import space_from_dict  # noqa: E402
from robot6_sb3.sweep.storage import join_study, load_study  # noqa: E402

SPACE = space_from_dict({"params": {"gamma": {"type": "float", "low": 0.9, "high": 0.99}}})


def _settings(runs_root: Path, **values: object) -> SweepSettings:
    return SweepSettings(study="s", space=SPACE, runs_root=runs_root, **values)  # type: ignore[arg-type]


def test_join_study_creates_the_study_and_its_folders(tmp_path: Path) -> None:
    storage, study = join_study(_settings(tmp_path / "root"))

    assert study.study_name == "s" and storage.get_heartbeat_interval() == 10
    assert sorted(p.name for p in (tmp_path / "root" / "sweeps" / "s").iterdir()) == [
        "checkpoints", "optuna.db", "runs",
    ]  # fmt: skip


def test_a_failed_start_removes_what_it_created_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "sweeps").mkdir(parents=True)
    (root / "sweeps" / "notes.txt").write_text("mine")

    def disk_full(**kwargs: object) -> None:
        raise optuna.exceptions.StorageInternalError("disk full")

    monkeypatch.setattr(optuna, "create_study", disk_full)

    with pytest.raises(UsageError, match=r"the study storage sqlite:///.*/optuna\.db failed"):
        join_study(_settings(root))

    assert [p.name for p in (root / "sweeps").iterdir()] == ["notes.txt"]


def test_bad_pruner_options_are_refused_before_the_storage_is_created(tmp_path: Path) -> None:
    space = space_from_dict({"params": {"gamma": 0.9}, "pruner": {"type": "median", "x": 1}})
    settings = SweepSettings(study="s", space=space, runs_root=tmp_path / "root")

    with pytest.raises(UsageError, match=r"pruner median: .*unexpected keyword argument 'x'"):
        join_study(settings)

    assert not (tmp_path / "root").exists()


def test_a_read_only_look_at_a_foreign_database_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    with sqlite3.connect(path) as plain:
        plain.execute("CREATE TABLE notes (text)")
    plain.close()
    before = path.read_bytes()

    with pytest.raises(UsageError, match=r"cannot open the study storage .*no such table"):
        load_study("s", f"sqlite:///{path}")

    assert path.read_bytes() == before
