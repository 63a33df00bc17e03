"""``FastTQC``: sb3-contrib's TQC with the fast update (:mod:`robot6_sb3.engine.update`) and
the quantile Huber loss computed from sorted targets (:mod:`robot6_sb3.engine.quantile_loss`).
"""

from __future__ import annotations

import numpy as np
import torch
from sb3_contrib import TQC
from stable_baselines3.common.type_aliases import ReplayBufferSamples

from robot6_sb3.engine.quantile_loss import SortedQuantileHuberLoss
from robot6_sb3.engine.update import FastUpdate


class FastTQC(FastUpdate, TQC):
    """sb3-contrib's ``TQC`` (same constructor, policies, ``save``/``load`` and saved state)
    whose ``train()`` computes TQC's update leaner; see :mod:`robot6_sb3.engine`."""

    def _target(
        self,
        next_values: list[torch.Tensor],
        next_log_prob: torch.Tensor,
        ent_coef: torch.Tensor,
        data: ReplayBufferSamples,
        discounts: torch.Tensor | float,
    ) -> torch.Tensor:
        # All critics' quantiles, sorted, without the top ones of each critic. Subtracting the
        # entropy term and discounting keep each row sorted, as the loss needs.
        n_target_quantiles = (
            self.critic.quantiles_total - self.top_quantiles_to_drop_per_net * self.critic.n_critics
        )
        next_quantiles = sort_rows(torch.cat(next_values, dim=1))[:, :n_target_quantiles]
        target_quantiles = next_quantiles - ent_coef * next_log_prob
        return data.rewards + (1 - data.dones) * discounts * target_quantiles

    def _critic_loss(self, values: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        n_quantiles = self.critic.n_quantiles
        # sb3-contrib's cum_prob: the middle of each quantile's probability interval.
        cum_prob = (torch.arange(n_quantiles, device=target.device, dtype=torch.float) + 0.5) / (
            n_quantiles
        )
        return SortedQuantileHuberLoss.apply(torch.cat(values, dim=1), target, cum_prob)

    def _actor_value(self, values: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(values, dim=1).mean(dim=2).mean(dim=1, keepdim=True)


def sort_rows(values: torch.Tensor) -> torch.Tensor:
    """``values`` sorted along rows; on the CPU by NumPy, many times faster than PyTorch."""
    if values.device.type != "cpu":
        return torch.sort(values, dim=1).values
    return torch.from_numpy(np.sort(values.numpy(), axis=1))
