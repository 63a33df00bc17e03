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
from robot6_sb3.sweep.settings import SweepSettings, check_settings, check_study_name


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


_DATABASE_ERRORS = (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError)
"""What reading or writing the storage raises when the database fails (Optuna wraps some
SQLAlchemy errors in its own)."""


def _reason(exc: BaseException) -> str:
    """The first line of the database's own message."""
    if isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ is not None:
        exc = exc.__cause__
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def open_storage(
    url: str,
    heartbeat_interval: int | None = None,
    grace_period: int | None = None,
    max_retry: int = 3,
) -> RDBStorage:
    """Connect to an Optuna RDB storage; a worker's (with heartbeats) creates its tables if
    needed, a read-only look (``heartbeat_interval=None``) creates nothing.

    :param url: an SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg2://...``)
    :param heartbeat_interval: seconds between heartbeats; ``None`` for a read-only look
    :param grace_period: seconds without heartbeat before a trial is failed and retried
    :param max_retry: how often a trial whose worker died is queued again
    :raises UsageError: when the URL is malformed, its driver is missing, the database
        cannot be reached, or (for a read-only look) it is not an Optuna storage
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
                skip_table_creation=heartbeat_interval is None,
            )
    except (*_DATABASE_ERRORS, ImportError, ValueError) as exc:
        raise UsageError(
            f"cannot open the study storage {shown_url(url)}: {_reason(exc)}. Check the URL "
            "(e.g. postgresql+psycopg2://user:password@host:5432/db), that the database server "
            "runs and accepts connections from this machine, and that its driver is installed "
            "(pip install 'robot6-sb3[sweep]')"
        ) from None


@contextlib.contextmanager
def storage_errors(url: str) -> Iterator[None]:
    """Turn a database error (a damaged or foreign file, a server gone away) into a
    :class:`~robot6_sb3.errors.UsageError` naming the storage."""
    try:
        yield
    except _DATABASE_ERRORS as exc:
        raise UsageError(f"the study storage {shown_url(url)} failed: {_reason(exc)}") from None


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


def _sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (``None`` for other databases)."""
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@contextlib.contextmanager
def _undone_on_failure(paths: list[Path]) -> Iterator[None]:
    """If the block fails, remove those of ``paths`` (outermost first) that it created: a
    failed start leaves nothing new behind, and removes nothing that was there before."""
    new = [path for path in paths if not path.exists()]
    try:
        yield
    except BaseException:
        for path in reversed(new):
            with contextlib.suppress(OSError):
                if path.is_dir():
                    path.rmdir()  # only an empty one
                else:
                    path.unlink(missing_ok=True)
        raise


def join_study(settings: SweepSettings) -> tuple[RDBStorage, optuna.Study]:
    """Create the study or join it, as a worker: the storage with heartbeats, the study with
    its sampler and pruner, and the study's folders.

    Everything that can be checked is checked before anything is created; when opening the
    storage or the study fails, what this call created is removed again.

    :param settings: the sweep
    :raises UsageError: for bad settings (see :func:`~robot6_sb3.sweep.settings.check_settings`),
        bad pruner options, an unreachable storage, or a space that differs from the one the
        study was created with
    """
    check_settings(settings)
    sampler, pruner = _sampler(settings.space.sampler), _pruner(settings.space.pruner)
    paths = settings.paths
    database = _sqlite_file(settings.url)
    made = [*reversed(paths.root.parents), paths.root, *([database] if database else [])]
    with _undone_on_failure([*made, paths.checkpoints_dir, paths.runs_dir]):
        if settings.storage_url is None:
            # The default SQLite file lives in the study folder.
            paths.root.mkdir(parents=True, exist_ok=True)
        storage = open_storage(
            settings.url, settings.heartbeat_interval, settings.grace_period, settings.max_retry
        )
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with storage_errors(settings.url):
            study = optuna.create_study(
                study_name=settings.study,
                storage=storage,
                sampler=sampler,
                pruner=pruner,
                direction="maximize",
                load_if_exists=True,
            )
            _check_space(study, settings)
        paths.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        paths.runs_dir.mkdir(parents=True, exist_ok=True)
    return storage, study


def _check_space(study: optuna.Study, settings: SweepSettings) -> None:
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


def open_study(settings: SweepSettings) -> optuna.Study:
    """Create the study or join it, and its folders (see :func:`join_study`)."""
    return join_study(settings)[1]


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
