"""Evaluating a policy: success rate, mean reward and final distance over whole episodes, and
recording them as a GIF or MP4 (``robot6 eval``, the sweeps' pruning evaluations).

Frames come from the env's ``render_mode="rgb_array"``; imageio encodes them (MP4 needs the
``video`` extra, which brings an ffmpeg binary).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.config_fields import ConfigError
from robot6_sb3.errors import UsageError


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate_policy` measured."""

    episodes: int
    success_rate: float
    """Fraction of episodes whose last step had ``info["is_success"]``."""
    mean_reward: float
    """Mean undiscounted episode return."""
    mean_final_distance: float
    """Mean distance to the target at the last step, in meters (NaN if the env has none)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def better_than(self, other: EvaluationResult | None) -> bool:
        """Whether this result beats ``other``: a higher success rate, or the same with a
        higher mean reward."""
        if other is None:
            return True
        return (self.success_rate, self.mean_reward) > (other.success_rate, other.mean_reward)


def evaluate_policy(
    model: BaseAlgorithm,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    episodes: int = 50,
    deterministic: bool = True,
    seed: int = 0,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> EvaluationResult:
    """Run ``episodes`` whole episodes of ``model`` in a fresh env of its own.

    The env is seeded once with ``seed``, so the same checkpoint and seed give the same
    targets and, with ``deterministic=True``, the same numbers. Evaluation never touches the
    training env or the process-wide random generators a deterministic policy does not use.

    :param model: the trained SB3 model
    :param env_id: the env to evaluate in
    :param env_kwargs: keyword arguments for ``gym.make``
    :param episodes: number of episodes
    :param deterministic: use the policy's mean action instead of sampling
    :param seed: seed of the evaluation env's first reset
    :param on_frame: receives an RGB frame after every reset and step (renders in
        ``rgb_array`` mode when given)
    """
    kwargs = dict(env_kwargs or {})
    if on_frame is not None:
        kwargs["render_mode"] = "rgb_array"
    env = gym.make(env_id, **kwargs)
    try:
        return evaluate_in(model, env, episodes, deterministic, seed, on_frame)
    finally:
        env.close()


def evaluate_in(
    model: BaseAlgorithm,
    env: gym.Env,
    episodes: int,
    deterministic: bool = True,
    seed: int = 0,
    on_frame: Callable[[np.ndarray], None] | None = None,
) -> EvaluationResult:
    """:func:`evaluate_policy` in ``env``, which is reset with ``seed`` first (so evaluating
    again in the same env meets the same targets)."""
    rewards, successes, distances = [], [], []
    for episode in range(episodes):
        obs, info = env.reset(seed=seed if episode == 0 else None)
        if on_frame is not None:
            on_frame(env.render())
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, info = env.step(action)
            total += float(reward)
            done = terminated or truncated
            if on_frame is not None:
                on_frame(env.render())
        rewards.append(total)
        successes.append(bool(info.get("is_success", False)))
        distances.append(float(info.get("distance", np.nan)))
    return EvaluationResult(
        episodes=episodes,
        success_rate=float(np.mean(successes)),
        mean_reward=float(np.mean(rewards)),
        mean_final_distance=float(np.mean(distances)),
    )


VIDEO_SUFFIXES = (".gif", ".mp4")
PROGRESS_BAR_HEIGHT = 4
"""Pixels at the bottom of each frame showing how far the episode has come."""


def check_video_support(path: Path) -> None:
    """Refuse a video format this installation cannot write, before anything runs.

    :raises UsageError: for ``.mp4`` without ``imageio-ffmpeg``
    """
    if Path(path).suffix.lower() == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise ConfigError(
            "video",
            f"{path}: writing MP4 needs imageio-ffmpeg; install the video extra "
            "(pip install 'robot6-sb3[video]') or record a .gif",
        )


class EpisodeFrames:
    """Collects the frames of whole episodes of ``frames_per_episode`` frames each (reset plus
    every step), drawing a progress bar along the bottom of each.

    The bar also makes every frame differ from the one before, which GIF encoders would
    otherwise merge when the arm stands still, so a video always has one frame per step.

    :param frames_per_episode: frames per episode (``max_episode_steps + 1``)
    """

    def __init__(self, frames_per_episode: int) -> None:
        self.frames_per_episode = frames_per_episode
        self.frames: list[np.ndarray] = []

    def __call__(self, frame: np.ndarray) -> None:
        frame = np.array(frame[:, :, :3], dtype=np.uint8)
        position = len(self.frames) % self.frames_per_episode + 1
        filled = max(1, round(frame.shape[1] * position / self.frames_per_episode))
        bar = frame[-PROGRESS_BAR_HEIGHT:]
        bar[:] = (40, 40, 40)
        bar[:, :filled] = (255, 140, 0)
        self.frames.append(frame)


def write_video(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """Encode ``frames`` (RGB, uint8, all one size) as ``path``'s format, atomically.

    :param path: a ``.gif`` or ``.mp4`` file
    :param frames: the images in order
    :param fps: frames per second
    :raises UsageError: for an unsupported suffix or no frames
    """
    import imageio.v3 as iio

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ConfigError("video", f"{path} must end with {' or '.join(VIDEO_SUFFIXES)}")
    if not frames:
        raise UsageError("there are no frames to write")
    if suffix == ".gif":
        data = iio.imwrite("<bytes>", frames, extension=".gif", duration=1000 / fps, loop=0)
    else:
        check_video_support(path)
        # Frame sizes here are multiples of 8 but not 16; 8 keeps ffmpeg from resizing.
        data = iio.imwrite("<bytes>", frames, extension=".mp4", fps=fps, macro_block_size=8)
    atomic_write_bytes(path, data)


@dataclass(frozen=True)
class CheckpointEvaluation:
    """What :func:`evaluate_checkpoint` measured (and recorded)."""

    checkpoint: str
    deterministic: bool
    seed: int
    result: EvaluationResult
    video: str | None = None
    video_frames: int | None = None

    def to_dict(self) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if k != "result"}
        values.update(self.result.to_dict())
        if self.video is None:
            del values["video"], values["video_frames"]
        return values


def evaluate_checkpoint(
    path: Path,
    episodes: int = 50,
    deterministic: bool = True,
    seed: int = 0,
    device: str = "auto",
    video: Path | None = None,
    video_episodes: int = 1,
) -> CheckpointEvaluation:
    """Evaluate the policy of the checkpoint at ``path`` in a fresh env of its run's kind, and
    record the first ``video_episodes`` episodes to ``video`` when given.

    The global generators are seeded with ``seed`` too, so ``deterministic=False`` is
    reproducible and the recording replays the first evaluated episodes.

    :raises CheckpointError: for a missing or damaged file
    :raises UsageError: when the checkpoint's env is not registered here
    """
    from robot6_sb3.checkpoint import load_checkpoint, metadata_of
    from robot6_sb3.resume import model_from_checkpoint

    checkpoint = load_checkpoint(path)
    model = model_from_checkpoint(checkpoint, device)
    model.get_env().close()
    metadata = metadata_of(checkpoint)
    env_id, env_kwargs = str(metadata.env_id), metadata.env_kwargs
    model.set_random_seed(seed)
    result = evaluate_policy(model, env_id, env_kwargs, episodes, deterministic, seed)
    evaluation = CheckpointEvaluation(str(path), deterministic, seed, result)
    if video is None:
        return evaluation
    spec = gym.spec(env_id)
    frames = EpisodeFrames(int(spec.max_episode_steps or 0) + 1)
    model.set_random_seed(seed)
    evaluate_policy(model, env_id, env_kwargs, video_episodes, deterministic, seed, frames)
    env = gym.make(env_id, **env_kwargs)
    fps = int(env.metadata.get("render_fps") or 25)
    env.close()
    write_video(video, frames.frames, fps)
    return CheckpointEvaluation(
        str(path), deterministic, seed, result, str(video), len(frames.frames)
    )
