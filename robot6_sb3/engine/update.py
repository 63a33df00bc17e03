"""The fast gradient update shared by :class:`~robot6_sb3.engine.FastSAC` and
:class:`~robot6_sb3.engine.FastTQC`: SB3's ``train()`` step by step, computed leaner.

Per gradient step, in SB3's order and with SB3's random draws (the replay batch from NumPy's
global generator, the actor's noise from PyTorch's, same shapes, same order):

1. sample a batch, draw the actor's noise; compute the observations' features once for
   every network;
2. the target from the target critics, without gradients;
3. the critic loss and its gradients (``torch.autograd.grad``: no ``.grad`` to zero), one
   Adam step on all critic parameters at once (:class:`~robot6_sb3.engine.adam.FlatAdam`);
4. the actor's actions and log-probabilities (:class:`~robot6_sb3.engine.networks.
   SquashedGaussianActor`) and the actor loss through the updated critics, differentiated for
   the actor's parameters only (SB3's backward also computes the critics' weight gradients,
   then discards them);
5. the entropy coefficient's step, its gradient written out (``-mean(log_prob +
   target_entropy)``) instead of a backward pass;
6. the Polyak update of the target critics as two tensor operations.

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

from robot6_sb3.engine.adam import FlatAdam, FlatParameters
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

    features: Any
    actor: SquashedGaussianActor
    critics: Critics
    critics_target: Critics
    actor_optimizer: FlatAdam
    critic_optimizer: FlatAdam
    ent_coef_optimizer: FlatAdam | None
    target_parameters: FlatParameters
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
        critic_optimizer = FlatAdam(model.critic.optimizer, "critic.optimizer")
        if critic_optimizer.params != list(model.critic.parameters()):
            raise Unsupported("critic.optimizer does not train every critic parameter")
        target_parameters = list(model.critic_target.parameters())
        if [p.shape for p in critic_optimizer.params] != [p.shape for p in target_parameters]:
            raise Unsupported("the target critics differ from the critics")
        ent_coef_optimizer = model.ent_coef_optimizer
        return cls(
            features=features_of(policy),
            actor=SquashedGaussianActor(model.actor),
            critics=Critics(model.critic, "critic"),
            critics_target=Critics(model.critic_target, "critic_target"),
            actor_optimizer=FlatAdam(model.actor.optimizer, "actor.optimizer"),
            critic_optimizer=critic_optimizer,
            ent_coef_optimizer=None
            if ent_coef_optimizer is None
            else FlatAdam(ent_coef_optimizer, "ent_coef_optimizer"),
            target_parameters=FlatParameters(target_parameters, "critic_target"),
            sampler=ReplaySampler(model.replay_buffer)
            if ReplaySampler.supports(model.replay_buffer)
            else None,
        )

    def bind(self) -> None:
        """Flatten again whatever was replaced since the last update (see
        :mod:`robot6_sb3.engine.adam`).

        :raises Unsupported: for optimizer state the flat update cannot continue
        """
        for optimizer in (self.actor_optimizer, self.critic_optimizer, self.ent_coef_optimizer):
            if optimizer is not None:
                optimizer.bind()
        self.target_parameters.bind()


def _watched(model: Any) -> tuple[Any, ...]:
    """The objects the fast update's :class:`Networks` are read from."""
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
    _fast_watched: tuple[Any, ...] = ()

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
        self._fast_watched = ()
        self._fast_networks()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fast", "_fast_unsupported", "_fast_watched"]

    @property
    def update_engine(self) -> str:
        """``"fast (eager)"``, or why this model's update is SB3's own."""
        if self._fast_networks() is None:
            return f"sb3 (the fast engine does not support {self._fast_unsupported})"
        return f"{FAST} (eager)"

    def _fast_networks(self) -> Networks | None:
        """The networks the fast update computes with, or ``None`` (and the reason in
        ``_fast_unsupported``); read again when the policy, an optimizer or the buffer is
        replaced."""
        watched = _watched(self)
        if len(watched) == len(self._fast_watched) and all(
            new is old for new, old in zip(watched, self._fast_watched, strict=True)
        ):
            return self._fast
        self._fast_watched = watched
        try:
            self._fast = Networks.of(self)
            self._fast.bind()
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
        if nets is not None:
            try:
                nets.bind()
            except Unsupported as exc:
                self._fast, self._fast_unsupported = None, str(exc)
                nets = None
        if nets is None:
            super().train(gradient_steps, batch_size)  # type: ignore[safe-super]
            return
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers.append(self.ent_coef_optimizer)
        self._update_learning_rate(optimizers)
        logged: dict[str, list[float]] = {
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
                nets.target_parameters.polyak_towards(nets.critic_optimizer.parameters, self.tau)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name in ("ent_coef", "actor_loss", "critic_loss", "ent_coef_loss"):
            if logged[name]:
                self.logger.record(f"train/{name}", np.mean(logged[name]))

    def _step(
        self, nets: Networks, data: ReplayBufferSamples, logged: dict[str, list[float]]
    ) -> None:
        # SB3 draws the actor's noise for the batch, then for the next observations.
        noise, next_noise = self._noise(data.actions), self._noise(data.actions)
        learned = nets.ent_coef_optimizer is not None and self.log_ent_coef is not None
        if learned:
            assert self.log_ent_coef is not None
            ent_coef = torch.exp(self.log_ent_coef.detach())
        else:
            ent_coef = self.ent_coef_tensor
        features = nets.features(data.observations)

        critic_loss = self._critic_loss_of(nets, features, data, next_noise, ent_coef)
        optimizer = nets.critic_optimizer
        optimizer.step(torch.autograd.grad(critic_loss, optimizer.params))

        # The actor's forward pass does not depend on the critics, so it can follow their
        # update: SB3 runs it first only to update the entropy coefficient early, whose new
        # value the next gradient step is the first to use.
        actor_loss, log_prob = self._actor_loss_of(nets, features, noise, ent_coef)
        optimizer = nets.actor_optimizer
        optimizer.step(torch.autograd.grad(actor_loss, optimizer.params))

        if learned:
            assert self.log_ent_coef is not None and nets.ent_coef_optimizer is not None
            error = log_prob + self.target_entropy
            logged["ent_coef_loss"].append(-(self.log_ent_coef.detach() * error).mean().item())
            # d/d(log_ent_coef) of SB3's -(log_ent_coef * error).mean()
            nets.ent_coef_optimizer.step([-error.mean().reshape(1)])
        logged["ent_coef"].append(ent_coef.item())
        logged["critic_loss"].append(critic_loss.item())
        logged["actor_loss"].append(actor_loss.item())

    def _critic_loss_of(
        self,
        nets: Networks,
        features: torch.Tensor,
        data: ReplayBufferSamples,
        next_noise: torch.Tensor,
        ent_coef: torch.Tensor,
    ) -> torch.Tensor:
        """The critic loss of the batch, its target computed without gradients."""
        with torch.no_grad():
            next_features = nets.features(data.next_observations)
            next_actions, next_log_prob = nets.actor.sample(next_features, next_noise)
            target = self._target(
                nets.critics_target(next_features, next_actions),
                next_log_prob.reshape(-1, 1),
                ent_coef,
                data,
                data.discounts if data.discounts is not None else self.gamma,
            )
        return self._critic_loss(nets.critics(features, data.actions), target)

    def _actor_loss_of(
        self, nets: Networks, features: torch.Tensor, noise: torch.Tensor, ent_coef: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor loss through the (updated) critics, and the actions' ``(batch, 1)``
        log-probabilities, detached."""
        actions, log_prob = nets.actor.sample(features, noise)
        log_prob = log_prob.reshape(-1, 1)
        actor_loss = (
            ent_coef * log_prob - self._actor_value(nets.critics(features, actions))
        ).mean()
        return actor_loss, log_prob.detach()

    @staticmethod
    def _noise(actions: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of the actions' shape, drawn as ``torch.distributions.Normal``
        draws it for SB3's actor (same generator, same call)."""
        return torch.empty(actions.shape, dtype=actions.dtype, device=actions.device).normal_()
