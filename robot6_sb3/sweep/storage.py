"""Opening a study's Optuna storage and the study itself, for work or for reading."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.storages import RDBStorage

from robot6_sb3.errors import UsageError
from robot6_sb3.sweep.attributes import SPACE
from robot6_sb3.sweep.budget import RetryLostTrial
from robot6_sb3.sweep.settings import SweepSettings, check_study_name


def shown_url(url: str) -> str:
    """``url`` with its password masked, for messages."""
    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


@contextlib.contextmanager
def quiet_experimental() -> Iterator[None]:
    """Optuna marks heartbeats and stale-trial retry experimental; they are what we rely on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        # ask/tell with our own heartbeat thread is what Study.optimize does inside; we need
        # the loop to place budget slots and resume runs.
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        yield


def open_storage(
    url: str,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int = 3,
) -> RDBStorage:
    """Connect to (and if needed create the tables of) an Optuna RDB storage.

    :param url: an SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg2://...``)
    :param heartbeat_interval: seconds between heartbeats; ``None`` for a read-only look
    :param grace_period: seconds without heartbeat before a trial is failed and retried
    :param max_retry: how often a trial whose worker died is queued again
    :raises UsageError: when the URL is malformed, its driver is missing or the database
        cannot be reached
    """
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Workers of one machine share the file; wait for each other's writes.
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        engine_kwargs = {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    retry = None if heartbeat_interval is None else RetryLostTrial(max_retry)
    try:
        with quiet_experimental():
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=retry,
            )
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UsageError(
            f"cannot open the study storage {shown_url(url)}: {reason}. Check the URL "
            "(e.g. postgresql+psycopg2://user:password@host:5432/db), that the database server "
            "runs and accepts connections from this machine, and that its driver is installed "
            "(pip install 'robot6-sb3[sweep]')"
        ) from None


def _pruner(spec: dict[str, Any]) -> optuna.pruners.BasePruner:
    options = {key: value for key, value in spec.items() if key != "type"}
    classes = {
        "median": optuna.pruners.MedianPruner,
        "halving": optuna.pruners.SuccessiveHalvingPruner,
        "none": optuna.pruners.NopPruner,
    }
    try:
        return classes[spec["type"]](**options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"pruner {spec['type']}: {exc}") from None


def _sampler(name: str) -> optuna.samplers.BaseSampler:
    # No seed: workers with one seed would all sample the same parameters.
    return optuna.samplers.RandomSampler() if name == "random" else optuna.samplers.TPESampler()


def open_settings_storage(settings: SweepSettings) -> RDBStorage:
    """The storage of ``settings``, with its heartbeat settings (a worker's)."""
    if settings.storage_url is None:
        # The default SQLite file lives in the study folder.
        settings.paths.root.mkdir(parents=True, exist_ok=True)
    return open_storage(
        settings.url, settings.heartbeat_interval, settings.grace_period, settings.max_retry
    )


def open_study(settings: SweepSettings, storage: RDBStorage | None = None) -> optuna.Study:
    """Create the study or join it; its folders are created too.

    :param settings: the sweep
    :param storage: an open storage (default: open ``settings.url`` with heartbeats)
    :raises UsageError: for a bad study name, an unreachable storage, or a space that differs
        from the one the study was created with
    """
    check_study_name(settings.study)
    if storage is None:
        storage = open_settings_storage(settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=settings.study,
        storage=storage,
        sampler=_sampler(settings.space.sampler),
        pruner=_pruner(settings.space.pruner),
        direction="maximize",
        load_if_exists=True,
    )
    fingerprint = settings.space.fingerprint()
    if SPACE not in study.user_attrs:
        study.set_user_attr(SPACE, fingerprint)
    recorded = study.user_attrs[SPACE]
    if recorded != fingerprint:
        raise UsageError(
            f"study {settings.study} in {shown_url(settings.url)} was started with another "
            f"space file: it has {recorded}, this one gives {fingerprint}. Use the study's space "
            "file, or a new --study name"
        )
    settings.paths.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    settings.paths.runs_dir.mkdir(parents=True, exist_ok=True)
    return study


def load_study(study_name: str, storage_url: str) -> optuna.Study:
    """An existing study, for reading.

    :raises UsageError: when the storage cannot be opened or has no such study
    """
    check_study_name(study_name)
    if storage_url.startswith("sqlite:///"):
        path = Path(storage_url.removeprefix("sqlite:///"))
        if not path.exists():
            raise UsageError(
                f"no study {study_name}: {path} does not exist (start one with robot6 sweep run "
                "--study NAME --space FILE, or pass --storage / --runs-root)"
            )
    storage = open_storage(storage_url)
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        raise UsageError(
            f"no study {study_name} in {shown_url(storage_url)}; it holds: "
            f"{', '.join(names) or 'no studies'}"
        ) from None
