"""``FastSAC``: Stable-Baselines3's SAC with the fast update (:mod:`robot6_sb3.engine.update`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from stable_baselines3 import SAC
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from robot6_sb3.engine.update import FastUpdate


class FastSAC(FastUpdate, SAC):
    """SB3's ``SAC`` (same constructor, policies, ``save``/``load`` and saved state) whose
    ``train()`` computes SB3's update leaner; see :mod:`robot6_sb3.engine`."""

    def _target(
        self,
        next_values: list[torch.Tensor],
        next_log_prob: torch.Tensor,
        ent_coef: torch.Tensor,
        data: ReplayBufferSamples,
        discounts: torch.Tensor | float,
    ) -> torch.Tensor:
        # Clipped double Q: the smallest critic's value, minus the entropy term.
        next_q_values, _ = torch.min(torch.cat(next_values, dim=1), dim=1, keepdim=True)
        next_q_values = next_q_values - ent_coef * next_log_prob
        return data.rewards + (1 - data.dones) * discounts * next_q_values

    def _critic_loss(self, values: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        return 0.5 * sum(F.mse_loss(value, target) for value in values)  # type: ignore[return-value]

    def _actor_value(self, values: list[torch.Tensor]) -> torch.Tensor:
        min_value, _ = torch.min(torch.cat(values, dim=1), dim=1, keepdim=True)
        return min_value
