"""Recording a policy's episodes as a GIF or MP4 (``robot6 eval --video``).

Frames come from the env's ``render_mode="rgb_array"``; imageio encodes them (MP4 needs the
``video`` extra, which brings an ffmpeg binary).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from robot6_sb3.atomic import atomic_write_bytes
from robot6_sb3.errors import UsageError

VIDEO_SUFFIXES = (".gif", ".mp4")
PROGRESS_BAR_HEIGHT = 4
"""Pixels at the bottom of each frame showing how far the episode has come."""


def check_video_support(path: Path) -> None:
    """Refuse a video format this installation cannot write, before anything runs.

    :raises UsageError: for ``.mp4`` without ``imageio-ffmpeg``
    """
    if Path(path).suffix.lower() == ".mp4" and importlib.util.find_spec("imageio_ffmpeg") is None:
        raise UsageError(
            f"--video {path}: writing MP4 needs imageio-ffmpeg; install the video extra "
            "(pip install 'robot6-sb3[video]') or record a .gif"
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
        raise UsageError(f"--video {path} must end with {' or '.join(VIDEO_SUFFIXES)}")
    if not frames:
        raise UsageError("there are no frames to write")
    if suffix == ".gif":
        data = iio.imwrite("<bytes>", frames, extension=".gif", duration=1000 / fps, loop=0)
    else:
        check_video_support(path)
        # Frame sizes here are multiples of 8 but not 16; 8 keeps ffmpeg from resizing.
        data = iio.imwrite("<bytes>", frames, extension=".mp4", fps=fps, macro_block_size=8)
    atomic_write_bytes(path, data)
