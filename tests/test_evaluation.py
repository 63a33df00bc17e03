"""``robot6 eval``: reproducible numbers, the default checkpoint, and the recorded video."""

from __future__ import annotations

import json
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from tests.helpers import TINY, only_run


def _eval(robot6, *args: str) -> dict:
    result = robot6("eval", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_deterministic_eval_twice_gives_identical_numbers(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "3", *TINY)
    best = only_run(workdir / "checkpoints") / "best.pth"

    first = _eval(robot6, str(best), "--episodes", "3", "--seed", "5")
    second = _eval(robot6, str(best), "--episodes", "3", "--seed", "5")
    default = _eval(robot6, "--episodes", "3", "--seed", "5")

    assert first == second
    assert first["episodes"] == 3 and first["deterministic"] is True
    assert 0.0 <= first["success_rate"] <= 1.0
    assert first["mean_reward"] < 0 and 0 < first["mean_final_distance"] < 2
    assert default == {**first, "checkpoint": default["checkpoint"]}
    assert Path(default["checkpoint"]).resolve() == best.resolve(), "best of the newest run"


def test_stochastic_eval_is_reproducible_with_its_seed(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)

    first = _eval(robot6, "--episodes", "2", "--stochastic", "--seed", "1")
    second = _eval(robot6, "--episodes", "2", "--stochastic", "--seed", "1")
    deterministic = _eval(robot6, "--episodes", "2", "--seed", "1")

    assert first == second and first["deterministic"] is False
    assert first["mean_reward"] != deterministic["mean_reward"]


def test_table_output_names_the_metrics(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)

    result = robot6("eval", "--episodes", "2")

    assert result.exit_code == 0, result.output
    for text in ("best.pth: 2 episodes, deterministic, seed 0", "success rate", "mean reward"):
        assert text in result.stdout
    assert re.search(r"mean final distance\W+\d+\.\d{4} m", result.stdout)


def test_gif_has_one_frame_per_reset_and_step_of_each_recorded_episode(
    robot6, workdir: Path
) -> None:
    robot6("train", "--episodes", "2", *TINY)

    report = _eval(robot6, "--episodes", "2", "--video", "out.gif", "--video-episodes", "2")

    frames = iio.imread(workdir / "out.gif", index=None)
    assert frames.shape == (2 * 51, 360, 480, 3)
    assert report["video_frames"] == 102
    assert not np.array_equal(frames[0], frames[50]), "the episode moves"


def test_mp4_is_written(robot6, workdir: Path) -> None:
    robot6("train", "--episodes", "2", *TINY)

    report = _eval(robot6, "--episodes", "1", "--video", "out.mp4")

    assert report["video_frames"] == 51
    assert (workdir / "out.mp4").read_bytes()[4:8] == b"ftyp"


def test_bad_input_exits_2_with_a_message(robot6, workdir: Path) -> None:
    (workdir / "notes.pth").write_text("hello")
    result = robot6("eval")
    assert result.exit_code == 2
    assert "no CKPT given and no run in checkpoints/ has a best.pth" in result.stderr

    robot6("train", "--episodes", "2", *TINY)
    for args, message in (
        (("missing.pth",), "checkpoint missing.pth does not exist"),
        (("notes.pth",), "notes.pth"),
        (("--episodes", "0"), "--episodes must be at least 1, got 0"),
        (("--video", "out.avi"), "must end with .gif or .mp4"),
        (("--video", "nodir/out.gif"), "nodir does not exist"),
        (("--video", "out.gif", "--video-episodes", "0"), "--video-episodes must be at least 1"),
    ):
        result = robot6("eval", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output
    assert not list(workdir.glob("out.*"))
