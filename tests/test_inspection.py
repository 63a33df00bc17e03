"""``robot6 inspect``: metadata, tensors, counters, size and exactness of a checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.helpers import TINY, load, only_run


def _inspect(robot6, path: Path) -> dict:
    result = robot6("inspect", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_reports_exactly_what_the_file_holds(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", "--save-every", "2", *TINY)
    path = only_run(workdir / "checkpoints") / "ckpt_ep_2.pth"
    checkpoint = load(path)

    summary = _inspect(robot6, path)

    metadata = checkpoint["metadata"]
    assert summary["size_bytes"] == path.stat().st_size
    for name in ("format_version", "algo", "env_id", "obs_dim", "act_dim", "n_envs", "seed"):
        assert summary["metadata"][name] == metadata[name], name
    assert summary["metadata"]["model_kwargs"] == metadata["model_kwargs"]
    assert summary["metadata"]["versions"] == metadata["versions"]
    assert summary["metadata"]["parent"] is None
    assert summary["counters"]["episode"] == 2 and summary["counters"]["global_step"] == 100
    assert summary["counters"]["best_reward"] == checkpoint["best_reward"]
    assert summary["counters"]["n_updates"] == checkpoint["training_state"]["n_updates"]
    assert summary["keys"] == list(checkpoint)
    shapes = {t["key"]: t["shape"] for t in summary["tensors"]}
    obs_dim, act_dim = metadata["obs_dim"], metadata["act_dim"]
    assert shapes["policy.latent_pi.0.weight"] == [32, obs_dim]
    assert shapes["policy.mu.weight"] == [act_dim, 32]
    assert shapes["q1.0.weight"] == [32, obs_dim + act_dim]
    assert shapes["log_alpha"] == [1]
    assert len(shapes) == len(summary["tensors"]), "each tensor once"
    assert summary["exact"] is True and summary["replay_transitions"] == 100


def test_table_shows_the_fields_and_a_forked_run_names_its_parent(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--save-every", "1", *TINY)
    parent = only_run(workdir / "checkpoints")
    robot6("train", "--resume-ckpt", str(parent / "ckpt_ep_1.pth"), "--episodes", "2", *TINY)
    (child,) = [p for p in (workdir / "checkpoints").iterdir() if p != parent]

    result = robot6("inspect", str(child / "latest.pth"))
    with_tensors = robot6("inspect", str(child / "latest.pth"), "--tensors")

    assert result.exit_code == with_tensors.exit_code == 0, result.output
    summary = result.stdout.split("Settings")[0]
    for text in (
        f"forked from {parent.name} at episode 1",
        "SAC on Robot6Reach-v0, 1 env(s) (dummy), net [32, 32]",
        "episode 2, global_step 100",
        "0:00:0",  # wall time as h:mm:ss
        "yes: networks, optimizers, counters, RNG, env state and replay log are all there",
        "replay log",
    ):
        assert text in summary, text
    assert "learning_rate" in result.stdout and "net_arch" in result.stdout
    assert "policy.mu.weight" not in result.stdout and "--tensors lists them" in result.stdout
    assert "policy.mu.weight" in with_tensors.stdout and "3x32" in with_tensors.stdout


def test_not_exact_without_buffer_or_with_its_replay_log_gone(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", "--no-buffer", *TINY)
    no_buffer = only_run(workdir / "checkpoints") / "latest.pth"
    robot6("train", "--episodes", "2", *TINY, "--checkpoints-dir", "other")
    pruned = only_run(workdir / "other")
    shutil.rmtree(pruned / "replay")

    first = _inspect(robot6, no_buffer)
    second = _inspect(robot6, pruned / "latest.pth")

    assert first["exact"] is False and "--no-buffer" in first["exact_reason"]
    assert first["replay_transitions"] is None
    assert second["exact"] is False
    assert f"the replay log of run {pruned.name} lacks rows 0..100" in second["exact_reason"]


def test_bad_input_exits_2_with_a_message(robot6, workdir: Path) -> None:
    (workdir / "notes.pth").write_text("hello")
    for path, message in (
        ("missing.pth", "checkpoint missing.pth does not exist"),
        ("notes.pth", "notes.pth"),
        (".", "is not a file"),
    ):
        result = robot6("inspect", path)
        assert result.exit_code == 2, (path, result.output)
        assert message in result.stderr, (path, result.stderr)
        assert "Traceback" not in result.output
