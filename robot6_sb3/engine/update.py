"""The fast gradient update shared by :class:`~robot6_sb3.engine.FastSAC` and
:class:`~robot6_sb3.engine.FastTQC`: SB3's ``train()`` step by step, computed leaner.

Per gradient step, in SB3's order and with SB3's random draws (the replay batch from NumPy's
global generator, the actor's noise from PyTorch's, same shapes, same order):

1. sample a batch; compute the observations' features once for every network;
2. the actor's actions and log-probabilities (:class:`~robot6_sb3.engine.networks.
   SquashedGaussianActor`); the entropy coefficient's step, its gradient written out
   (``-mean(log_prob + target_entropy)``) instead of a backward pass;
3. the target from the target critics, without gradients;
4. the critic loss and its gradients (``torch.autograd.grad``: no ``.grad`` to zero), one
   multi-tensor Adam step (:class:`~robot6_sb3.engine.adam.FusedAdam`);
5. the actor loss through the updated critics, differentiated for the actor's parameters only
   (SB3's backward also computes the critics' weight gradients, then discards them);
6. the Polyak update of the target critics as two multi-tensor operations.

No ``set_training_mode`` call: SAC's and TQC's MLPs have no layer that depends on the mode
(models with one keep SB3's update). The losses are logged as SB3 logs them.

``predict`` (the rollout's action, evaluation) gives SB3's actions bit for bit, drawing the
same noise, through the same lean network calls, for flat Box observations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import is_vectorized_observation

from robot6_sb3.engine.adam import FusedAdam
from robot6_sb3.engine.networks import (
    Critics,
    SquashedGaussianActor,
    Unsupported,
    features_of,
    mode_dependent,
    switch_mode_only_on_change,
)
from robot6_sb3.engine.sampling import ReplaySampler

FAST = "fast"
"""Name of this engine (``robot6 train --engine fast``)."""


@dataclass
class Networks:
    """What the fast update computes with, read from a model's policy and optimizers."""

    watched: tuple[Any, ...]
    """The policy and optimizer objects these were read from (a new one means read again)."""
    features: Any
    actor: SquashedGaussianActor
    critics: Critics
    critics_target: Critics
    actor_optimizer: FusedAdam
    critic_optimizer: FusedAdam
    ent_coef_optimizer: FusedAdam | None
    critic_parameters: list[torch.Tensor]
    target_parameters: list[torch.Tensor]
    sampler: ReplaySampler | None
    """Samples the replay buffer as SB3 does, faster (``None``: SB3 samples it)."""

    @classmethod
    def of(cls, model: Any) -> Networks:
        """:raises Unsupported: naming what the fast update does not compute"""
        policy = model.policy
        if mode_dependent(policy):
            raise Unsupported("the policy has batch norm or dropout layers")
        if model.use_sde:
            raise Unsupported("gSDE exploration (use_sde=True)")
        critic_parameters = list(model.critic.parameters())
        target_parameters = list(model.critic_target.parameters())
        if [p.shape for p in critic_parameters] != [p.shape for p in target_parameters]:
            raise Unsupported("the target critics differ from the critics")
        ent_coef_optimizer = model.ent_coef_optimizer
        return cls(
            watched=_watched(model),
            features=features_of(policy),
            actor=SquashedGaussianActor(model.actor),
            critics=Critics(model.critic, "critic"),
            critics_target=Critics(model.critic_target, "critic_target"),
            actor_optimizer=FusedAdam(model.actor.optimizer, "actor.optimizer"),
            critic_optimizer=FusedAdam(model.critic.optimizer, "critic.optimizer"),
            ent_coef_optimizer=None
            if ent_coef_optimizer is None
            else FusedAdam(ent_coef_optimizer, "ent_coef_optimizer"),
            critic_parameters=critic_parameters,
            target_parameters=target_parameters,
            sampler=ReplaySampler(model.replay_buffer)
            if ReplaySampler.supports(model.replay_buffer)
            else None,
        )


def _watched(model: Any) -> tuple[Any, ...]:
    return (
        model.policy,
        model.replay_buffer,
        model.actor.optimizer,
        model.critic.optimizer,
        model.ent_coef_optimizer,
        model.log_ent_coef,
    )


class FastUpdate(OffPolicyAlgorithm):
    """Mixin of the fast engine into SB3's ``SAC`` and sb3-contrib's ``TQC`` (first base).

    Subclasses give the algorithm's target, critic loss and the critics' value of the actor's
    actions; everything else, and everything SB3 saves, is the algorithm's own.
    """

    _fast: Networks | None = None
    _fast_unsupported: str | None = None

    # Declared by SAC and TQC themselves.
    actor: Any
    critic: Any
    critic_target: Any
    ent_coef_optimizer: torch.optim.Optimizer | None
    log_ent_coef: torch.Tensor | None
    ent_coef_tensor: torch.Tensor
    target_entropy: float
    target_update_interval: int

    def _setup_model(self) -> None:
        super()._setup_model()
        switch_mode_only_on_change(self.policy)
        self._fast = None
        self._fast_networks()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fast", "_fast_unsupported"]

    @property
    def update_engine(self) -> str:
        """``"fast (eager)"``, or why this model's update is SB3's own."""
        if self._fast_networks() is None:
            return f"sb3 (the fast engine does not support {self._fast_unsupported})"
        return f"{FAST} (eager)"

    def _fast_networks(self) -> Networks | None:
        if self._fast is not None and self._fast.watched == _watched(self):
            return self._fast
        try:
            self._fast = Networks.of(self)
        except Unsupported as exc:
            self._fast, self._fast_unsupported = None, str(exc)
        return self._fast

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict``, computed without ``torch.distributions`` and module calls for
        flat Box observations (the same actions, bit for bit; others go through SB3)."""
        nets = self._fast_networks()
        space = self.observation_space
        if (
            nets is None
            or not isinstance(observation, np.ndarray)
            or not isinstance(space, spaces.Box)
            or is_image_space(space)
        ):
            return super().predict(observation, state, episode_start, deterministic)
        vectorized = is_vectorized_observation(observation, space)
        obs = torch.as_tensor(observation.reshape((-1, *space.shape)), device=self.device)
        with torch.no_grad():
            actions = nets.actor.act(nets.features(obs), deterministic)
        # SAC's and TQC's actors squash their output: rescale it to the action space.
        unscaled = self.policy.unscale_action(
            actions.cpu().numpy().reshape((-1, *self.action_space.shape))
        )
        return (unscaled if vectorized else unscaled.squeeze(axis=0)), state

    # -- the algorithm's parts -------------------------------------------------------------

    def _target(
        self,
        next_values: list[torch.Tensor],
        next_log_prob: torch.Tensor,
        ent_coef: torch.Tensor,
        data: ReplayBufferSamples,
        discounts: torch.Tensor | float,
    ) -> torch.Tensor:
        raise NotImplementedError

    def _critic_loss(self, values: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _actor_value(self, values: list[torch.Tensor]) -> torch.Tensor:
        """The critics' ``(batch, 1)`` value of the actor's actions, which it maximizes."""
        raise NotImplementedError

    # -- the update ------------------------------------------------------------------------

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        nets = self._fast_networks()
        if nets is None:
            super().train(gradient_steps, batch_size)  # type: ignore[safe-super]
            return
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        logged: dict[str, list[torch.Tensor]] = {
            "ent_coef_loss": [],
            "ent_coef": [],
            "actor_loss": [],
            "critic_loss": [],
        }
        for gradient_step in range(gradient_steps):
            if nets.sampler is not None and self._vec_normalize_env is None:
                data = nets.sampler.sample(batch_size)
            else:
                data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            self._step(nets, data, logged)
            if gradient_step % self.target_update_interval == 0:
                with torch.no_grad():
                    torch._foreach_mul_(nets.target_parameters, 1 - self.tau)
                    torch._foreach_add_(
                        nets.target_parameters, nets.critic_parameters, alpha=self.tau
                    )
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name in ("ent_coef", "actor_loss", "critic_loss", "ent_coef_loss"):
            if logged[name]:
                self.logger.record(f"train/{name}", np.mean(torch.cat(logged[name]).tolist()))

    def _step(
        self, nets: Networks, data: ReplayBufferSamples, logged: dict[str, list[torch.Tensor]]
    ) -> None:
        discounts = data.discounts if data.discounts is not None else self.gamma
        features = nets.features(data.observations)
        next_features = nets.features(data.next_observations)
        actions_pi, log_prob = nets.actor.sample(features, self._noise(data.actions))
        log_prob = log_prob.reshape(-1, 1)

        if nets.ent_coef_optimizer is not None and self.log_ent_coef is not None:
            log_ent_coef = self.log_ent_coef.detach()
            ent_coef = torch.exp(log_ent_coef)
            error = log_prob.detach() + self.target_entropy
            logged["ent_coef_loss"].append(-(log_ent_coef * error).mean().reshape(1))
            # d/d(log_ent_coef) of SB3's -(log_ent_coef * error).mean()
            nets.ent_coef_optimizer.step([-error.mean().reshape(1)])
        else:
            ent_coef = self.ent_coef_tensor
        logged["ent_coef"].append(ent_coef.detach().reshape(1))

        with torch.no_grad():
            next_actions, next_log_prob = nets.actor.sample(
                next_features, self._noise(data.actions)
            )
            target = self._target(
                nets.critics_target(next_features, next_actions),
                next_log_prob.reshape(-1, 1),
                ent_coef,
                data,
                discounts,
            )

        critic_loss = self._critic_loss(nets.critics(features, data.actions), target)
        optimizer = nets.critic_optimizer
        optimizer.step(torch.autograd.grad(critic_loss, optimizer.params))

        actor_value = self._actor_value(nets.critics(features, actions_pi))
        actor_loss = (ent_coef * log_prob - actor_value).mean()
        optimizer = nets.actor_optimizer
        optimizer.step(torch.autograd.grad(actor_loss, optimizer.params))

        logged["critic_loss"].append(critic_loss.detach().reshape(1))
        logged["actor_loss"].append(actor_loss.detach().reshape(1))

    @staticmethod
    def _noise(actions: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of the actions' shape, drawn as ``torch.distributions.Normal``
        draws it for SB3's actor (same generator, same call)."""
        return torch.empty(actions.shape, dtype=actions.dtype, device=actions.device).normal_()
