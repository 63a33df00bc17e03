"""``robot6 train --resume`` and ``--resume-ckpt``: which file, which run, what is restored."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

from robot6_sb3.checkpoint import apply_checkpoint, load_checkpoint
from robot6_sb3.planning import plan_training
from robot6_sb3.trainer import build_model
from robot6_sb3.training_config import TrainConfig
from robot6_sb3.vec_env import make_env
from tests.helpers import TINY, assert_same_tensors, load, only_run, tree_bytes


def _rows(csv_path: Path) -> list[dict[str, str]]:
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_resume_continues_the_newest_run(robot6, workdir: Path) -> None:
    assert robot6("train", "--episodes", "2", *TINY).exit_code == 0
    run = only_run(workdir / "checkpoints")

    result = robot6("train", "--resume", "--episodes", "4", *TINY)

    assert result.exit_code == 0, result.output
    assert (
        f"[RESUME] Loaded checkpoints/{run.name}/latest.pth: episode 2, global_step 100"
        in result.stdout
    )
    assert only_run(workdir / "checkpoints") == run, "resuming latest.pth continues the same run"
    rows = _rows(workdir / "runs" / run.name / "training.csv")
    assert [int(r["episode"]) for r in rows] == [0, 1, 2, 3]
    steps = [int(r["global_step"]) for r in rows]
    assert steps == [50, 100, 150, 200]
    latest = load(run / "latest.pth")
    assert latest["episode"] == 4 and latest["global_step"] == 200
    # learning_starts=60 counts from step 0: every step after it trained once, in both sessions.
    assert latest["training_state"]["n_updates"] == 200 - 60


def test_resume_restores_optimizers_and_log_alpha_exactly(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    path = only_run(workdir / "checkpoints") / "latest.pth"
    saved = load_checkpoint(path)
    plan = plan_training(TrainConfig.from_options(resume_ckpt=path, episodes=4))
    model = build_model(plan, make_env(plan.env_id, plan.env_kwargs), "cpu")

    apply_checkpoint(model, saved)

    assert_same_tensors(model.actor.optimizer.state_dict(), saved["policy_opt"], "policy_opt")
    assert_same_tensors(model.critic.optimizer.state_dict(), saved["q_opt"], "q_opt")
    assert_same_tensors(model.ent_coef_optimizer.state_dict(), saved["alpha_opt"], "alpha_opt")
    assert saved["policy_opt"]["state"][0]["step"] == torch.tensor(100.0 - 60)
    assert torch.equal(model.log_ent_coef.detach(), saved["log_alpha"])
    assert model.num_timesteps == 100 and model._episode_num == 2


def test_resume_drops_csv_rows_the_checkpoint_does_not_cover(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    run = only_run(workdir / "checkpoints")
    csv_path = workdir / "runs" / run.name / "training.csv"
    with open(csv_path, "a") as handle:  # as if a crash came after the row, before latest.pth
        handle.write("2,150,-9.5,50,0,0.3\n")

    robot6("train", "--resume", "--episodes", "3", *TINY)

    assert [int(r["episode"]) for r in _rows(csv_path)] == [0, 1, 2]
    assert _rows(csv_path)[2]["episode_reward"] != "-9.5"


def test_resume_ckpt_of_an_older_checkpoint_forks_and_leaves_the_parent_untouched(
    robot6, workdir: Path
) -> None:
    robot6("train", "--episodes", "4", "--save-every", "2", *TINY)
    parent = only_run(workdir / "checkpoints")
    before = tree_bytes(parent, workdir / "runs" / parent.name)

    result = robot6(
        "train",
        "--resume-ckpt",
        f"checkpoints/{parent.name}/ckpt_ep_2.pth",
        "--episodes",
        "3",
        *TINY,
    )

    assert result.exit_code == 0, result.output
    assert "forking a new run" in result.stdout
    assert tree_bytes(parent, workdir / "runs" / parent.name) == before
    children = [p for p in (workdir / "checkpoints").iterdir() if p.name != parent.name]
    assert len(children) == 1
    child = children[0]
    latest = load(child / "latest.pth")
    assert latest["metadata"]["parent"]["run"] == parent.name
    assert latest["metadata"]["parent"]["episode"] == 2
    parent_rows = _rows(workdir / "runs" / parent.name / "training.csv")
    child_rows = _rows(workdir / "runs" / child.name / "training.csv")
    assert child_rows[:2] == parent_rows[:2]
    assert [int(r["episode"]) for r in child_rows] == [0, 1, 2]


def test_best_reward_survives_resume(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", *TINY)
    run = only_run(workdir / "checkpoints")
    best_before = load(run / "best.pth")

    robot6("train", "--resume", "--episodes", "5", *TINY)

    rows = _rows(workdir / "runs" / run.name / "training.csv")
    rewards = [float(r["episode_reward"]) for r in rows]
    best_after = load(run / "best.pth")
    assert best_after["best_reward"] == max(rewards)
    best_episode = rewards.index(max(rewards))
    assert best_after["episode"] == best_episode + 1, "best.pth is the state after that episode"
    if best_episode < 3:  # the best came before the resume: best.pth was kept as it was
        assert_same_tensors(best_after["policy"], best_before["policy"], "policy")
    else:
        assert best_after["best_reward"] > best_before["best_reward"]


def test_changed_learning_rate_is_applied_with_a_notice(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)

    result = robot6("train", "--resume", "--episodes", "3", "--learning-rate", "0.0005", *TINY)

    assert result.exit_code == 0, result.output
    assert (
        "--learning-rate changed from 0.001 to 0.0005; applied to the restored optimizers"
        in result.stdout
    )
    latest = load(only_run(workdir / "checkpoints") / "latest.pth")
    assert latest["policy_opt"]["param_groups"][0]["lr"] == 0.0005
    assert latest["metadata"]["model_kwargs"]["learning_rate"] == 0.0005


def test_incompatible_changes_are_refused_naming_each_field(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)
    run = only_run(workdir / "checkpoints")
    before = tree_bytes(workdir)

    result = robot6(
        "train", *TINY, "--resume", "--episodes", "3", "--algo", "tqc", "--net-arch", "64,64"
    )

    assert result.exit_code == 2
    assert "algo: checkpoint has sac, you asked for tqc" in result.stderr
    assert "net_arch: checkpoint has 32,32, you asked for 64,64" in result.stderr
    assert "Traceback" not in result.output
    assert tree_bytes(workdir) == before
    assert only_run(workdir / "checkpoints") == run


def test_resume_with_nothing_to_resume_starts_from_scratch(robot6, workdir: Path) -> None:
    result = robot6("train", "--resume", "--episodes", "1", *TINY)

    assert result.exit_code == 0, result.output
    assert "[RESUME] Checkpoint not found, starting from scratch" in result.stdout
    assert (only_run(workdir / "checkpoints") / "latest.pth").exists()


def test_resume_of_a_finished_run_says_how_to_train_further(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)

    result = robot6("train", "--resume", "--episodes", "2", *TINY)

    assert result.exit_code == 0
    assert "already has 2 of 2 episodes" in result.stdout
    assert "--episodes N with N > 2" in result.stdout


def test_the_guide_scenarios_work_literally(robot6, workdir: Path) -> None:
    # Scenario 1: train, then resume to continue from the next episode.
    robot6("train", "--episodes", "4", "--save-every", "2", *TINY)
    run = only_run(workdir / "checkpoints").name
    day2 = robot6("train", "--resume", "--episodes", "6", *TINY)
    assert f"Loaded checkpoints/{run}/latest.pth: episode 4" in day2.stdout
    assert load(Path("checkpoints", run, "latest.pth"))["episode"] == 6

    # Scenario 2: a specific periodic checkpoint.
    periodic = robot6(
        "train",
        "--resume",
        "--resume-ckpt",
        f"checkpoints/{run}/ckpt_ep_4.pth",
        "--episodes",
        "5",
        *TINY,
    )
    assert periodic.exit_code == 0, periodic.output
    assert f"Loaded checkpoints/{run}/ckpt_ep_4.pth: episode 4" in periodic.stdout

    # Scenario 3: the best checkpoint.
    best = robot6(
        "train",
        "--resume",
        "--resume-ckpt",
        f"checkpoints/{run}/best.pth",
        "--episodes",
        "8",
        *TINY,
    )
    assert best.exit_code == 0, best.output
    assert f"Loaded checkpoints/{run}/best.pth" in best.stdout
    assert len(list(Path("checkpoints").iterdir())) == 3


def test_tensorboard_has_no_duplicated_or_backward_steps_after_a_resume(
    robot6, workdir: Path
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    robot6("train", "--episodes", "3", "--save-every", "2", *TINY)
    run = only_run(workdir / "checkpoints")
    # As after a crash between TensorBoard's write of episode 2 and latest.pth's save.
    (run / "latest.pth").write_bytes((run / "ckpt_ep_2.pth").read_bytes())

    robot6("train", "--resume", "--episodes", "4", *TINY)

    events = EventAccumulator(str(workdir / "runs" / run.name))
    events.Reload()
    steps = [event.step for event in events.Scalars("episode/reward")]
    assert steps == [50, 100, 150, 200]
    rows = _rows(workdir / "runs" / run.name / "training.csv")
    rewards = [event.value for event in events.Scalars("episode/reward")]
    assert rewards == pytest.approx([float(r["episode_reward"]) for r in rows])


def _rows_of(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("deleted", ["training.csv", "the run's log folder"])
def test_deleted_logs_are_rebuilt_from_the_replay_log_with_a_warning(
    robot6, workdir: Path, deleted: str
) -> None:
    robot6("train", "--episodes", "3", *TINY)
    run = only_run(workdir / "checkpoints")
    logs = workdir / "runs" / run.name
    original = _rows_of(logs / "training.csv")
    if deleted == "training.csv":
        (logs / "training.csv").unlink()
    else:
        shutil.rmtree(logs)

    result = robot6("train", "--resume", "--episodes", "4", *TINY)

    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "rebuilt them from the replay log" in result.stderr
    rows = _rows_of(logs / "training.csv")
    assert [row["episode"] for row in rows] == ["0", "1", "2", "3"]
    for old, new in zip(original, rows[:3], strict=True):
        assert (old["global_step"], old["episode_length"]) == (
            new["global_step"],
            new["episode_length"],
        )
        assert float(new["episode_reward"]) == pytest.approx(float(old["episode_reward"]), abs=1e-4)
        assert new["success"] == ""  # not in the replay log: not made up
    assert rows[3]["success"] in ("0", "1")
    assert list(logs.glob("events.out.tfevents.*"))


def test_deleted_logs_without_a_replay_log_are_said_to_be_gone(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--no-buffer", *TINY)
    run = only_run(workdir / "checkpoints")
    (workdir / "runs" / run.name / "training.csv").unlink()

    result = robot6("train", "--resume", "--episodes", "3", *TINY)

    assert result.exit_code == 0, result.output
    assert "lacks 2 of the run's 2 episodes and the replay log cannot rebuild them" in " ".join(
        result.stderr.split()
    )
    assert [row["episode"] for row in _rows_of(workdir / "runs" / run.name / "training.csv")] == [
        "2"
    ]


def test_run_settings_survive_a_resume_unless_overridden_with_a_notice(
    robot6, workdir: Path
) -> None:
    first = robot6(
        "train",
        "--episodes",
        "2",
        "--save-every",
        "2",
        "--keep-last",
        "1",
        "--runs-dir",
        "logs",
        *TINY,
    )
    assert first.exit_code == 0, first.output
    run = only_run(workdir / "checkpoints")

    kept = robot6("train", "--resume", "--episodes", "4", *TINY)
    changed = robot6("train", "--resume", "--episodes", "6", "--save-every", "3", *TINY)

    assert kept.exit_code == 0 and changed.exit_code == 0, kept.output + changed.output
    assert "[RESUME] --save-every changed from 2 to 3 for this run" in changed.stdout
    assert sorted(p.name for p in run.glob("ckpt_ep_*.pth")) == ["ckpt_ep_6.pth"]  # keep-last 1
    assert [r["episode"] for r in _rows_of(workdir / "logs" / run.name / "training.csv")] == [
        str(n) for n in range(6)
    ]
    assert not (workdir / "runs").exists(), "the resumes wrote their logs where the run's are"
    assert load(run / "latest.pth")["metadata"]["settings"]["save_every"] == 3


def test_periodic_evaluations_and_best_eval_survive_a_resume_exactly(robot6, workdir: Path) -> None:
    evaluate = ("--eval-every", "2", "--eval-episodes", "2")
    robot6(
        "train",
        "--episodes",
        "6",
        *evaluate,
        *TINY,
        "--checkpoints-dir",
        "whole",
        "--runs-dir",
        "whole-runs",
    )
    robot6("train", "--episodes", "4", *evaluate, *TINY)
    resumed = robot6("train", "--resume", "--episodes", "6", *TINY)

    assert resumed.exit_code == 0, resumed.output
    whole, split = only_run(workdir / "whole"), only_run(workdir / "checkpoints")
    whole_evals = workdir / "whole-runs" / whole.name / "evaluations.csv"
    split_evals = workdir / "runs" / split.name / "evaluations.csv"
    assert [row["episode"] for row in _rows_of(split_evals)] == ["2", "4", "6"]
    assert split_evals.read_bytes() == whole_evals.read_bytes()
    assert_same_tensors(
        load(split / "best_eval.pth")["model"], load(whole / "best_eval.pth")["model"]
    )
    assert load(split / "latest.pth")["best_eval"] == load(whole / "latest.pth")["best_eval"]
