"""``robot6 sweep``: multi-worker studies on SQLite and PostgreSQL, a killed worker's trial
resumed by another worker, the status table, and bad input."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from robot6_sb3.cli import app
from tests.helpers import load, tree_bytes
from tests.postgres import postgres_server, unavailable_reason

optuna = pytest.importorskip("optuna", reason="the sweep extra (optuna) is not installed")

TINY_SPACE = """\
episodes: 3
metric: mean_reward
eval_every: 2
eval_episodes: 1
pruner: {type: median, n_startup_trials: 2}
params:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
  seed: {type: int, low: 0, high: 999}
  net_arch: "32,32"
  batch_size: 32
  learning_starts: 60
  buffer_size: 10000
"""
FAST_HEARTBEAT = ("--heartbeat-interval", "1", "--grace-period", "3")


def _write_space(workdir: Path, text: str = TINY_SPACE, name: str = "space.yaml") -> Path:
    path = workdir / name
    path.write_text(text)
    return path


def _csv_episodes(path: Path) -> list[tuple[int, int]]:
    with open(path, newline="") as handle:
        return [(int(row["episode"]), int(row["global_step"])) for row in csv.DictReader(handle)]


def _status(robot6, study: str, *options: str) -> dict:
    result = robot6("sweep", "status", "--study", study, "--json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _assert_valid_run(run_dir: Path, runs_dir: Path, episodes: int, study: str) -> None:
    latest = load(run_dir / "latest.pth")
    assert latest["episode"] == episodes
    assert latest["metadata"]["labels"]["study"] == study
    assert isinstance(latest["metadata"]["labels"]["trial"], int)
    assert _csv_episodes(runs_dir / run_dir.name / "training.csv") == [
        (n, 50 * (n + 1)) for n in range(episodes)
    ]
    described = json.loads((run_dir / "sweep_trial.json").read_text())
    assert described["study"] == study and described["run"] == run_dir.name


@pytest.mark.slow
def test_three_workers_finish_six_trials_in_resumable_runs(robot6, workdir: Path) -> None:
    space = _write_space(workdir)

    result = robot6(
        "sweep", "run", "--study", "tiny", "--space", str(space), "--workers", "3",
        "--n-trials", "6", *FAST_HEARTBEAT,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "Study tiny: 6 of 6 trials finished." in result.stdout
    status = _status(robot6, "tiny")
    assert status["finished"] == 6
    assert status["storage"] == f"sqlite:///{workdir.resolve()}/sweeps/tiny/optuna.db"
    trials = status["trials"]
    assert sorted(t["number"] for t in trials) == [0, 1, 2, 3, 4, 5]
    study_dir = workdir / "sweeps" / "tiny"
    runs = set()
    for trial in trials:
        assert trial["state"] in ("COMPLETE", "PRUNED"), trial
        # Evaluations at episodes 2 and 3; the pruner may stop a trial only at 2.
        assert trial["episodes"] == (3 if trial["state"] == "COMPLETE" else 2)
        assert trial["retry_of"] is None and trial["error"] is None
        assert set(trial["params"]) == {"learning_rate", "seed"}
        run_dir = Path(trial["run_dir"])
        assert run_dir == Path("sweeps/tiny/checkpoints") / trial["run"]
        _assert_valid_run(workdir / run_dir, study_dir / "runs", trial["episodes"], "tiny")
        runs.add(trial["run"])
    assert len(runs) == 6
    assert sorted(p.name for p in (study_dir / "checkpoints").iterdir()) == sorted(runs)
    values = [t["value"] for t in trials if t["state"] == "COMPLETE"]
    assert values == sorted(values, reverse=True), "best trial first"

    table = robot6("sweep", "status", "--study", "tiny")
    assert table.exit_code == 0, table.output
    for run in runs:
        assert run in table.stdout
    assert (
        "robot6 compare --checkpoints-dir sweeps/tiny/checkpoints --runs-dir sweeps/tiny/runs"
        in table.stdout
    )

    # A trial's folder is an ordinary run: it resumes, and robot6 compare reads the study.
    first = trials[0]
    resumed = robot6(
        "train", "--resume-ckpt", f"{first['run_dir']}/latest.pth",
        "--episodes", str(first["episodes"] + 1), "--runs-dir", "sweeps/tiny/runs", "--no-progress",
    )  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    _assert_valid_run(workdir / first["run_dir"], study_dir / "runs", first["episodes"] + 1, "tiny")
    compared = robot6(
        "compare", "--checkpoints-dir", "sweeps/tiny/checkpoints", "--runs-dir", "sweeps/tiny/runs",
        "--json",
    )  # fmt: skip
    assert compared.exit_code == 0, compared.output
    for run in runs:
        assert run in compared.stdout


KILL_SPACE = TINY_SPACE.replace("episodes: 3", "episodes: 6").replace(
    "pruner: {type: median, n_startup_trials: 2}", "pruner: none"
).replace("eval_every: 2", "eval_every: 3")  # fmt: skip


class _KillFirstWorker:
    """Watches the study's runs and SIGKILLs the worker of the first run to reach 3 episodes."""

    def __init__(self, study_dir: Path) -> None:
        self.study_dir = study_dir
        self.killed: tuple[str, int, int, float] | None = None
        """Run name, worker pid, CSV rows at the kill, time of the kill."""
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            for csv_path in self.study_dir.glob("runs/*/training.csv"):
                rows = len(_csv_episodes(csv_path))
                if 3 <= rows < 6:
                    run = csv_path.parent.name
                    lock = self.study_dir / "checkpoints" / run / ".lock"
                    pid = int(lock.read_text().split()[1])
                    assert pid != os.getpid(), "the worker must be a child process"
                    os.kill(pid, signal.SIGKILL)
                    self.killed = (run, pid, rows, time.time())
                    return

    def __enter__(self) -> _KillFirstWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(f"PostgreSQL test skipped: {reason}")
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_options(request: pytest.FixtureRequest) -> tuple[str, ...]:
    if request.param == "sqlite":
        return ()
    return ("--storage", request.getfixturevalue("postgres_url"))


@pytest.mark.slow
def test_killed_workers_trial_is_resumed_from_its_latest_checkpoint(
    robot6, workdir: Path, storage_options: tuple[str, ...]
) -> None:
    space = _write_space(workdir, KILL_SPACE)
    study_dir = workdir / "sweeps" / "kill"

    with _KillFirstWorker(study_dir) as killer:
        result = robot6(
            "sweep", "run", "--study", "kill", "--space", str(space), "--workers", "2",
            "--n-trials", "3", *FAST_HEARTBEAT, *storage_options,
        )  # fmt: skip

    assert killer.killed is not None, result.output
    run, pid, rows_at_kill, killed_at = killer.killed
    assert result.exit_code == 0, result.output
    assert f"worker {pid} was killed by SIGKILL" in result.stderr
    assert "Study kill: 3 of 3 trials finished." in result.stdout
    status = _status(robot6, "kill", *storage_options)
    assert status["finished"] == 3
    trials = {t["number"]: t for t in status["trials"]}
    assert sorted(t["state"] for t in trials.values()) == ["COMPLETE"] * 3 + ["FAIL"]
    dead = next(t for t in trials.values() if t["state"] == "FAIL")
    assert dead["run"] == run and dead["worker"].endswith(f":{pid}") and dead["error"] is None
    retry = next(t for t in trials.values() if t["retry_of"] == dead["number"])
    assert retry["state"] == "COMPLETE" and retry["number"] > dead["number"]
    assert retry["params"] == dead["params"]
    assert retry["run"] == run
    # The CSV row of an episode is written just before its checkpoint; a kill in between
    # resumes one episode earlier, and that row is dropped and written again.
    assert rows_at_kill - 1 <= retry["resumed_from"] <= rows_at_kill
    assert not retry["worker"].endswith(f":{pid}")
    for trial in trials.values():
        if trial["state"] == "COMPLETE":
            _assert_valid_run(workdir / trial["run_dir"], study_dir / "runs", 6, "kill")
    described = json.loads((study_dir / "checkpoints" / run / "sweep_trial.json").read_text())
    assert (described["trial"], described["retry_of"]) == (retry["number"], dead["number"])

    storage = storage_options[1] if storage_options else status["storage"]
    frozen = optuna.load_study(study_name="kill", storage=storage).trials[retry["number"]]
    delay = frozen.user_attrs["first_episode_at"] - killed_at
    print(f"\n[{storage.split(':')[0]}] kill to the retried trial's first episode: {delay:.1f} s")


HOSTILE_SPACES = {
    "big.yaml": TINY_SPACE + "#" * 70_000,
    "bomb.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nparams: {gamma: *g}\n",
    "dup.yaml": TINY_SPACE + "episodes: 4\n",
    "markup.yaml": TINY_SPACE + '  algo: "[/x]"\n',
    "unknown.yaml": TINY_SPACE + "  dropout: 0.1\n",
    "reversed.yaml": TINY_SPACE.replace("low: 1.0e-4, high: 1.0e-2", "low: 1.0e-2, high: 1.0e-4"),
    "gaussian.yaml": TINY_SPACE.replace("type: int,", "type: gaussian,"),
    "pruner-option.yaml": TINY_SPACE.replace("n_startup_trials", "n_startup"),
    "pruner-value.yaml": TINY_SPACE.replace(
        "{type: median, n_startup_trials: 2}", "{type: halving, reduction_factor: 1}"
    ),
    "other.yaml": TINY_SPACE.replace("high: 999", "high: 5"),
}
PG_DOWN = "postgresql+psycopg2://sweeper:s3cret@127.0.0.1:1/sweeps"
RUN = ("sweep", "run", "--study", "bad", "--space", "space.yaml", *FAST_HEARTBEAT)
"""The bad value of each case comes after these, and wins."""

SWEEP_BAD_INPUTS = {
    "space-too-big": (["--space", "big.yaml"], "big.yaml is larger than 64 KiB"),
    "space-alias-bomb": (["--space", "bomb.yaml"], "anchors and aliases (& and *) are not allowed"),
    "space-duplicate-key": (["--space", "dup.yaml"], "duplicate key 'episodes'"),
    "space-markup": (["--space", "markup.yaml"], "algo must be one of sac, tqc, td3, ddpg, crossq, got '[/x]'"),
    "space-unknown-parameter": (["--space", "unknown.yaml"], "unknown parameter 'dropout'"),
    "space-low-above-high": (
        ["--space", "reversed.yaml"],
        "parameter 'learning_rate': low must be below high, got low=0.01, high=0.0001",
    ),
    "space-unknown-type": (["--space", "gaussian.yaml"], "got 'gaussian'"),
    "space-missing": (["--space", "missing.yaml"], "cannot read the space file missing.yaml"),
    "space-folder": (["--space", "folder.yaml"], "folder.yaml: Is a directory"),
    "space-suffix": (["--space", "a-file"], "a space file ends in .yaml, .yml or .toml"),
    "pruner-unknown-option": (
        ["--space", "pruner-option.yaml"],
        "pruner median: MedianPruner.__init__() got an unexpected keyword argument 'n_startup'",
    ),
    "pruner-bad-value": (["--space", "pruner-value.yaml"], "pruner halving:"),
    "other-space-for-the-study": (
        ["--study", "kept", "--space", "other.yaml"],
        "was started with another space file",
    ),
    "runs-root-a-file": (["--runs-root", "a-file"], "a-file is a file, not a folder"),
    "runs-root-below-a-file": (["--runs-root", "a-file/x"], "a-file is a file, not a folder"),
    "sweeps-a-file": (["--runs-root", "odd"], "odd/sweeps is a file, not a folder"),
    "device-tpu": (["--device", "tpu"], "--device must be one of auto, cpu, cuda, got 'tpu'"),
    "storage-unreachable": (
        ["--storage", PG_DOWN],
        "cannot open the study storage postgresql+psycopg2://sweeper:***@127.0.0.1:1/sweeps",
    ),
    "storage-unknown-driver": (["--storage", "nosuchdb://x"], "cannot open the study storage nosuchdb://x"),
    "storage-sqlite-missing-folder": (
        ["--storage", "sqlite:///nowhere/x.db"],
        "cannot open the study storage sqlite:///nowhere/x.db: unable to open database file",
    ),
    "storage-sqlite-text-file": (["--storage", "sqlite:///a-file"], "file is not a database"),
    "workers-0": (["--workers", "0"], "--workers must be at least 1, got 0"),
    "n-trials-0": (["--n-trials", "0"], "--n-trials must be at least 1, got 0"),
    "max-retry-negative": (["--max-retry", "-1"], "--max-retry must be at least 0, got -1"),
    "save-every-0": (["--save-every", "0"], "--save-every must be at least 1, got 0"),
    "episodes-0": (["--episodes", "0"], "--episodes must be at least 1, got 0"),
    "heartbeat-0": (["--heartbeat-interval", "0"], "--heartbeat-interval must be at least 1"),
    "grace-not-above-heartbeat": (
        ["--grace-period", "5", "--heartbeat-interval", "5"],
        "--grace-period (5 s) must be longer than --heartbeat-interval (5 s)",
    ),
    "study-name": (["--study", "a/b"], "--study 'a/b' must be 1-100 letters"),
    "status-unknown-study": (
        ["sweep", "status", "--study", "nothing"],
        "sweeps/nothing/optuna.db does not exist (start one with robot6 sweep run",
    ),
    "status-unknown-study-in-storage": (
        ["sweep", "status", "--study", "nothing", "--storage", "sqlite:///sweeps/kept/optuna.db"],
        "no study nothing in sqlite:///sweeps/kept/optuna.db; it holds: kept",
    ),
    "status-study-name": (["sweep", "status", "--study", "a/b"], "--study 'a/b' must be"),
    "status-storage-text-file": (
        ["sweep", "status", "--study", "kept", "--storage", "sqlite:///a-file"],
        "file is not a database",
    ),
    "status-storage-not-optuna": (
        ["sweep", "status", "--study", "kept", "--storage", "sqlite:///plain.db"],
        "no such table",
    ),
    "status-storage-unreachable": (
        ["sweep", "status", "--study", "kept", "--storage", PG_DOWN],
        "cannot open the study storage postgresql+psycopg2://sweeper:***@127.0.0.1:1/sweeps",
    ),
    "status-runs-root-a-file": (
        ["sweep", "status", "--study", "kept", "--runs-root", "a-file"],
        "a-file/sweeps/kept/optuna.db does not exist",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a space file, a study without trials, and hostile files beside them."""
    from robot6_sb3.sweep import SweepSettings, load_space
    from robot6_sb3.sweep.storage import join_study

    root = tmp_path_factory.mktemp("project")
    space = _write_space(root)
    for name, text in HOSTILE_SPACES.items():
        _write_space(root, text, name)
    (root / "folder.yaml").mkdir()
    (root / "a-file").write_text("not a folder\n")
    (root / "odd").mkdir()
    (root / "odd" / "sweeps").write_text("not a folder\n")
    with sqlite3.connect(root / "plain.db") as plain:
        plain.execute("CREATE TABLE notes (text)")
    plain.close()
    settings = SweepSettings(study="kept", space=load_space(space), runs_root=root)
    storage, _ = join_study(settings)
    storage.engine.dispose()
    return root


@pytest.mark.parametrize("name", list(SWEEP_BAD_INPUTS))
def test_bad_input_exits_2_changes_nothing_and_says_what_is_wrong(
    name: str, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "project"
    shutil.copytree(project, workdir)
    monkeypatch.chdir(workdir)
    args, phrase = SWEEP_BAD_INPUTS[name]
    before = tree_bytes(workdir)

    command = args if args[0] == "sweep" else [*RUN, *args]
    result = CliRunner().invoke(app, command)

    output = result.stdout + result.stderr
    assert result.exit_code == 2, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output and "s3cret" not in output
    assert phrase in " ".join(result.stderr.split()), output
    assert tree_bytes(workdir) == before, "nothing created or changed"


def test_device_cuda_without_a_gpu_is_refused_before_anything_is_created(
    robot6, workdir: Path
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    _write_space(workdir)

    result = robot6("sweep", "run", "--study", "s", "--space", "space.yaml", "--device", "cuda")

    assert result.exit_code == 2 and "no CUDA GPU" in result.stderr
    assert sorted(p.name for p in workdir.iterdir()) == ["space.yaml"]


def test_a_stopped_worker_queues_its_trial_and_the_next_one_resumes_it(workdir: Path) -> None:
    from robot6_sb3.sweep import SweepSettings, load_space, run_worker

    # No retries at all: a stop re-queues the trial without using one up.
    settings = SweepSettings(
        study="stop", space=load_space(_write_space(workdir)), n_trials=1,
        heartbeat_interval=1, grace_period=3, max_retry=0,
    )  # fmt: skip
    polls = 0

    def after_two_and_a_half_episodes() -> bool:
        nonlocal polls
        polls += 1  # polled once per env step, plus a few times around the trial
        return polls > 130

    stopped = run_worker(settings, should_stop=after_two_and_a_half_episodes)

    assert [(o.number, o.state, o.episodes) for o in stopped] == [(0, "INTERRUPTED", 2)]
    run = stopped[0].run
    resumed = run_worker(settings)

    assert [(o.number, o.state, o.retry_of, o.resumed_from, o.run) for o in resumed] == [
        (1, "COMPLETE", 0, 2, run)
    ]
    study_dir = workdir / "sweeps" / "stop"
    _assert_valid_run(study_dir / "checkpoints" / run, study_dir / "runs", 3, "stop")
    stopped_trial, copy = optuna.load_study(study_name="stop", storage=settings.url).trials
    assert copy.system_attrs == {
        "failed_trial": 0, "retry_history": [], "robot6:heartbeat_sent": True,  # its own
    }  # fmt: skip
    assert copy.params == stopped_trial.params
    assert stopped_trial.intermediate_values == {2: copy.intermediate_values[2]}
    assert stopped_trial.user_attrs["interrupted"] is True
    assert "interrupted" not in copy.user_attrs


def _settings(workdir: Path, study: str, storage_options: tuple[str, ...], **values: Any) -> Any:
    from robot6_sb3.sweep import SweepSettings, load_space

    return SweepSettings(
        study=study, space=load_space(_write_space(workdir)), heartbeat_interval=1,
        grace_period=3, storage_url=storage_options[1] if storage_options else None, **values,
    )  # fmt: skip


def _paused_worker(settings: Any) -> multiprocessing.process.BaseProcess:
    """A worker process that pauses between claiming a trial and its first heartbeat.

    Forked, so that it starts at once (it never trains: it is killed in the pause)."""
    from robot6_sb3.sweep import run_worker
    from robot6_sb3.sweep.heartbeat import PAUSE_AFTER_ASK_ENV

    def work() -> None:
        os.environ[PAUSE_AFTER_ASK_ENV] = "600"
        run_worker(settings)

    worker = multiprocessing.get_context("fork").Process(target=work, daemon=True)
    worker.start()
    return worker


def _kill_in_claim_window(worker: multiprocessing.process.BaseProcess, study: Any, number: int):
    """SIGKILL ``worker`` once it has claimed trial ``number`` and not sent its first
    heartbeat; returns the trial as it was then."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        trials = study.get_trials(deepcopy=False)
        if len(trials) > number and trials[number].state.name == "RUNNING":
            assert "robot6:heartbeat_sent" not in trials[number].system_attrs
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGKILL)
            worker.join()
            return trials[number]
        time.sleep(0.05)
    raise AssertionError(f"trial {number} was not claimed within 60 s")


def _new_study(settings: Any) -> Any:
    """Create the study, as ``robot6 sweep run`` does before it starts its workers."""
    from robot6_sb3.sweep.storage import join_study

    storage, _ = join_study(settings)
    storage.engine.dispose()  # not into the forked workers
    return optuna.load_study(study_name=settings.study, storage=settings.url)


@pytest.mark.slow
def test_a_worker_lost_before_its_first_heartbeat_is_retried_after_the_grace_period(
    robot6, workdir: Path, storage_options: tuple[str, ...]
) -> None:
    settings = _settings(workdir, "claim", storage_options, n_trials=1)
    study = _new_study(settings)
    claimed = _kill_in_claim_window(_paused_worker(settings), study, 0)

    result = robot6(
        "sweep", "run", "--study", "claim", "--space", "space.yaml", "--n-trials", "1",
        *FAST_HEARTBEAT, *storage_options,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (
        "trial 0 LOST, its worker was lost (no heartbeat for 3 s); queued again (retry 1 of 3)"
        in result.stdout
    )
    assert "Study claim: 1 of 1 trials finished." in result.stdout
    lost, retry = study.get_trials()
    assert lost.state.name == "FAIL" and "run" not in lost.user_attrs
    assert lost.datetime_complete - claimed.datetime_start >= timedelta(seconds=3)
    # Lost before its parameters were sampled: the retry samples them.
    assert claimed.params == {} and retry.state.name == "COMPLETE"
    rows = {t["number"]: t for t in _status(robot6, "claim", *storage_options)["trials"]}
    assert (rows[0]["fail_reason"], rows[0]["retried_as"], rows[0]["retries_used_up"]) == (
        "worker lost", 1, None,
    )  # fmt: skip
    assert (rows[1]["retry_of"], rows[1]["resumed_from"], rows[1]["episodes"]) == (0, None, 3)


@pytest.mark.slow
def test_a_trial_that_loses_its_worker_every_time_gives_its_place_to_a_new_one(
    robot6, workdir: Path
) -> None:
    settings = _settings(workdir, "oom", (), n_trials=1, max_retry=1)
    study = _new_study(settings)
    _kill_in_claim_window(_paused_worker(settings), study, 0)
    # The next worker fails trial 0 after the grace period, claims its copy, and is lost too.
    _kill_in_claim_window(_paused_worker(settings), study, 1)

    result = robot6(
        "sweep", "run", "--study", "oom", "--space", "space.yaml", "--n-trials", "1",
        "--max-retry", "1", *FAST_HEARTBEAT,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (
        "trial 1 LOST, retry of trial 0, its worker was lost (no heartbeat for 3 s); not queued "
        "again: its worker was lost 2 times (trials 0, 1) and it had 1 retries; its place in "
        "the budget goes to a new trial" in " ".join(result.stdout.split())
    )
    assert "trial 2 COMPLETE" in result.stdout
    status = _status(robot6, "oom")
    rows = {t["number"]: t for t in status["trials"]}
    assert status["finished"] == 1 and sorted(rows) == [0, 1, 2]
    assert (rows[0]["state"], rows[0]["retried_as"], rows[0]["retries_used_up"]) == (
        "FAIL",
        1,
        None,
    )
    assert (rows[1]["state"], rows[1]["retry_of"], rows[1]["retries_used_up"]) == (
        "FAIL",
        0,
        [0, 1],
    )
    assert (rows[2]["state"], rows[2]["retry_of"]) == ("COMPLETE", None)
    table = robot6("sweep", "status", "--study", "oom")
    assert "retries used up (worker lost in trials 0, 1), its slot went to a new trial" in (
        _column(table.stdout, 2)
    )


def _column(table: str, index: int) -> str:
    """The text of a Rich table's column ``index`` (1-based), cells wrapped over lines joined."""
    rows = [line.split("│") for line in table.splitlines() if line.startswith("│")]
    return " ".join(" ".join(row[index] for row in rows).split())


HEAVY = ("torch", "stable_baselines3", "sb3_contrib")
WHAT_WAS_IMPORTED = """\
import runpy, sys
sys.argv = ["robot6", *sys.argv[1:]]
try:
    runpy.run_module("robot6_sb3", run_name="__main__")
except SystemExit as stop:
    print("exit", stop.code, sorted(set(sys.modules) & {heavy}))
"""


@pytest.mark.parametrize(
    "args", [("sweep", "status", "--study", "kept", "--json"), ("--help",)], ids=["status", "help"]
)
def test_status_and_help_do_not_import_pytorch(project: Path, args: tuple[str, ...]) -> None:
    script = WHAT_WAS_IMPORTED.format(heavy=set(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=project, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=True,
    )  # fmt: skip

    assert done.stdout.splitlines()[-1] == "exit 0 []", done.stdout + done.stderr
