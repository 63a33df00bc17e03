"""The checkpoint loader against broken and hostile files: the project's own error, a message
that names the problem, and never any code from the file."""

from __future__ import annotations

import io
import math
import random
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from robot6_sb3.checkpoint import load_checkpoint, validate_checkpoint
from robot6_sb3.errors import CheckpointError
from robot6_sb3.planning import plan_training
from robot6_sb3.trainer import run_training
from robot6_sb3.training_config import TrainConfig
from tests.helpers import TINY, load

PAYLOAD_MARK = "payload-ran"


class _Payload:
    """Unpickling this creates a file: proof that code from the checkpoint ran."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.fixture(scope="module")
def valid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real checkpoint of a tiny run."""
    root = tmp_path_factory.mktemp("valid")
    config = TrainConfig.from_options(
        episodes=1,
        seed=1,
        net_arch=(16,),
        batch_size=16,
        learning_starts=10,
        buffer_size=1000,
        checkpoints_dir=root / "c",
        runs_dir=root / "r",
    )
    return run_training(plan_training(config)).paths.latest


def _saved(tmp_path: Path, checkpoint: object, name: str = "bad.pth") -> Path:
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def _refused(path: Path, *phrases: str) -> str:
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    for phrase in phrases:
        assert phrase in str(caught.value)
    return str(caught.value)


def test_a_valid_checkpoint_loads(valid: Path) -> None:
    checkpoint = load_checkpoint(valid)
    assert checkpoint["episode"] == 1 and checkpoint["global_step"] == 50


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    target = tmp_path / PAYLOAD_MARK
    path = _saved(tmp_path, {"policy": _Payload(str(target))})

    message = _refused(path, "refused to load", "needs pickle", "may be malicious")

    assert not target.exists()
    assert "weights_only" not in message, "never PyTorch's advice to load it unsafely"


@pytest.mark.parametrize("fraction", [0.0001, 0.1, 0.5, 0.9, 0.999])
def test_truncated_files_are_refused(valid: Path, tmp_path: Path, fraction: float) -> None:
    data = valid.read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: max(1, int(len(data) * fraction))])

    _refused(path, "cut.pth", "truncated or corrupt")


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.pth"
    path.write_bytes(random.Random(0).randbytes(4096))

    _refused(path, "noise.pth")


def test_an_sb3_zip_is_named_as_such(tmp_path: Path) -> None:
    from stable_baselines3 import SAC

    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, buffer_size=10)
    model.save(tmp_path / "model.zip")

    _refused(tmp_path / "model.zip", "Stable-Baselines3 model .zip, not a robot6 checkpoint")


def test_missing_keys_are_listed(valid: Path, tmp_path: Path) -> None:
    checkpoint = load(valid)
    del checkpoint["q2_target"], checkpoint["log_alpha"]

    _refused(_saved(tmp_path, checkpoint), "lacks the checkpoint keys: q2_target, log_alpha")


@pytest.mark.parametrize(
    ("key", "value", "phrase"),
    [
        ("episode", "12", "'episode' must be a non-negative int, got str '12'"),
        ("global_step", -5, "'global_step' must be a non-negative int, got int -5"),
        ("best_reward", "high", "'best_reward' must be a number"),
        ("policy", [1, 2], "'policy' must be a state dict"),
        ("log_alpha", 0.5, "'log_alpha' must be a tensor of at most one element"),
        ("metadata", None, "no 'metadata' dict"),
    ],
    ids=["episode-str", "step-negative", "best-str", "policy-list", "alpha-float", "no-metadata"],
)
def test_wrong_types_are_named(valid: Path, tmp_path: Path, key: str, value, phrase: str) -> None:
    checkpoint = load(valid)
    checkpoint[key] = value

    _refused(_saved(tmp_path, checkpoint), phrase)


def test_nan_weights_are_refused_naming_the_tensor(valid: Path, tmp_path: Path) -> None:
    checkpoint = load(valid)
    name = next(iter(checkpoint["q1"]))
    checkpoint["q1"][name] = torch.full_like(checkpoint["q1"][name], math.nan)

    _refused(_saved(tmp_path, checkpoint), f"'q1.{name}' holds NaN or infinite values")


def test_a_newer_format_asks_for_an_upgrade(valid: Path, tmp_path: Path) -> None:
    checkpoint = load(valid)
    checkpoint["metadata"]["format_version"] = 99

    _refused(_saved(tmp_path, checkpoint), "format version 99", "upgrade robot6-sb3")


def test_an_unregistered_env_exits_2(valid: Path, robot6, workdir: Path) -> None:
    checkpoint = load(valid)
    checkpoint["metadata"]["env_id"] = "Gone-v3"
    torch.save(checkpoint, "gone.pth")

    result = robot6("train", *TINY, "--resume-ckpt", "gone.pth")

    assert result.exit_code == 2
    assert "Gone-v3, which is not a registered env" in result.stderr
    assert "Traceback" not in result.output
    assert not (workdir / "checkpoints").exists()


@pytest.mark.parametrize("kind", ["payload", "truncated", "noise", "missing-keys", "nan", "text"])
def test_every_hostile_file_exits_2_without_traceback(
    valid: Path, robot6, workdir: Path, kind: str
) -> None:
    path = workdir / f"{kind}.pth"
    data = valid.read_bytes()
    if kind == "payload":
        torch.save({"policy": _Payload(str(workdir / PAYLOAD_MARK))}, path)
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif kind == "noise":
        path.write_bytes(random.Random(1).randbytes(1000))
    elif kind == "missing-keys":
        torch.save({"policy": {}}, path)
    elif kind == "nan":
        checkpoint = load(valid)
        checkpoint["log_alpha"] = torch.tensor([math.nan])
        torch.save(checkpoint, path)
    else:
        path.write_text("not a checkpoint\n")

    result = robot6("train", *TINY, "--resume-ckpt", str(path))

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert not (workdir / PAYLOAD_MARK).exists()
    assert not (workdir / "checkpoints").exists()


def _mutate_structure(checkpoint: dict, data: st.DataObject) -> dict:
    """Replace, delete or retype one entry somewhere in the checkpoint tree."""
    node = checkpoint
    while True:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return checkpoint
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and data.draw(st.booleans()):
            node = child
            continue
        action = data.draw(st.sampled_from(["delete", "replace"]))
        if action == "delete" and isinstance(node, dict):
            del node[key]
        else:
            node[key] = data.draw(
                st.one_of(
                    st.none(),
                    st.booleans(),
                    st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=5),
                    st.lists(st.integers(), max_size=3),
                    st.builds(torch.tensor, st.lists(st.floats(width=32), max_size=3)),
                )
            )
        return checkpoint


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_checkpoints_load_or_raise_the_projects_error(
    valid: Path, data: st.DataObject
) -> None:
    raw = valid.read_bytes()
    if data.draw(st.booleans()):
        checkpoint = _mutate_structure(load(valid), data)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        mutated = buffer.getvalue()
    else:
        mutated = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 8))):
            index = data.draw(st.integers(0, len(mutated) - 1))
            mutated[index] = data.draw(st.integers(0, 255))
        mutated = bytes(mutated[: data.draw(st.integers(1, len(mutated)))])
    path = valid.parent / "fuzzed.pth"
    path.write_bytes(mutated)
    try:
        checkpoint = load_checkpoint(path)
    except CheckpointError:
        return
    validate_checkpoint(checkpoint)  # what loads must be a valid checkpoint


def test_validation_accepts_what_the_trainer_writes(valid: Path) -> None:
    checkpoint = load(valid)

    validate_checkpoint(checkpoint)  # raises on anything wrong
    assert checkpoint["episode"] == 1 and checkpoint["metadata"]["algo"] == "sac"


def test_a_checkpoint_saved_on_a_gpu_resumes_on_this_cpu(
    valid: Path, robot6, workdir: Path
) -> None:
    """Storages tagged ``cuda:0`` (as torch.save writes them on a GPU) load onto the CPU."""
    from unittest import mock

    import torch.serialization

    run = shutil.copytree(valid.parent, workdir / "checkpoints" / valid.parent.name)
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        torch.save(load(valid), run / "from_gpu.pth")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(run / "from_gpu.pth", weights_only=True)  # what map_location avoids

    result = robot6(
        "train", "--no-progress", "--resume-ckpt", str(run / "from_gpu.pth"), "--episodes", "2"
    )

    assert result.exit_code == 0, result.output
    assert "from_gpu.pth: episode 1" in result.stdout


def test_a_lone_copied_file_asks_for_its_replay_history(valid: Path, robot6, workdir: Path) -> None:
    shutil.copy(valid, workdir / "copied.pth")

    refused = robot6("train", "--no-progress", "--resume-ckpt", "copied.pth", "--episodes", "2")

    assert refused.exit_code == 2
    assert "lacks rows 0..50" in refused.stderr and "--no-buffer" in refused.stderr
    assert not (workdir / "checkpoints").exists(), "nothing written"
    accepted = robot6(
        "train", "--no-progress", "--resume-ckpt", "copied.pth", "--episodes", "2", "--no-buffer"
    )
    assert accepted.exit_code == 0, accepted.output
    assert "no longer an exact continuation" in accepted.stdout
    assert (workdir / "checkpoints").is_dir(), "a lone file forks into --checkpoints-dir"
