"""Replay batches of a plain ``ReplayBuffer``, drawn as SB3 draws them and gathered in fewer
steps.

``ReplayBuffer.sample`` draws the rows and sub-envs from NumPy's global generator, gathers
each array with NumPy fancy indexing, then copies every result into a new tensor. Here the
same two ``np.random.randint`` calls choose the same rows, and one ``index_select`` per array
gathers them from tensors that share the buffer's memory: the batch holds the same values,
and the generator is left in the same state. Other buffers (dict observations, HER, n-step
returns, ``optimize_memory_usage``, a GPU) are sampled by SB3 itself.
"""

from __future__ import annotations

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples

ARRAYS = ("observations", "actions", "next_observations", "dones", "timeouts", "rewards")


class ReplaySampler:
    """Samples ``buffer`` as its own ``sample(batch_size)`` does (without VecNormalize).

    :param buffer: a ``ReplayBuffer`` (exactly that class) on the CPU
    """

    def __init__(self, buffer: ReplayBuffer) -> None:
        self.buffer = buffer
        self._arrays: tuple[np.ndarray, ...] = ()
        self._tensors: tuple[torch.Tensor, ...] = ()

    @staticmethod
    def supports(buffer: object) -> bool:
        return (
            type(buffer) is ReplayBuffer
            and not buffer.optimize_memory_usage
            and buffer.device.type == "cpu"
        )

    def sample(self, batch_size: int) -> ReplayBufferSamples:
        buffer = self.buffer
        upper_bound = buffer.buffer_size if buffer.full else buffer.pos
        batch_inds = np.random.randint(0, upper_bound, size=batch_size)
        env_indices = np.random.randint(0, high=buffer.n_envs, size=(batch_size,))
        rows = torch.from_numpy(batch_inds * buffer.n_envs + env_indices)
        observations, actions, next_observations, dones, timeouts, rewards = (
            tensor.index_select(0, rows) for tensor in self._buffer_tensors()
        )
        return ReplayBufferSamples(
            observations,
            actions,
            next_observations,
            (dones * (1 - timeouts)).reshape(-1, 1),
            rewards.reshape(-1, 1),
        )

    def _buffer_tensors(self) -> tuple[torch.Tensor, ...]:
        """The buffer's arrays as tensors of ``buffer_size * n_envs`` rows (no copy); made
        again when the buffer got new arrays."""
        arrays = tuple(getattr(self.buffer, name) for name in ARRAYS)
        if len(arrays) != len(self._arrays) or any(
            new is not old for new, old in zip(arrays, self._arrays, strict=True)
        ):
            rows = self.buffer.buffer_size * self.buffer.n_envs
            # view(), unlike reshape(), never copies: new rows stay visible.
            self._tensors = tuple(
                torch.from_numpy(array).view(rows, *array.shape[2:]) for array in arrays
            )
            self._arrays = arrays
        return self._tensors
