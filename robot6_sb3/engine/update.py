"""The fast gradient update shared by :class:`~robot6_sb3.engine.FastSAC` and
:class:`~robot6_sb3.engine.FastTQC`: SB3's ``train()`` step by step, computed leaner.

Per gradient step, with SB3's random draws (the replay batch from NumPy's global generator,
the actor's noise from PyTorch's, same shapes, same order):

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

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.utils import is_vectorized_observation

from robot6_sb3.algorithms import FAST
from robot6_sb3.engine.networks import Unsupported, switch_mode_only_on_change
from robot6_sb3.engine.parts import UpdateParts, sources


class FastUpdate(OffPolicyAlgorithm):
    """Mixin of the fast engine into SB3's ``SAC`` and sb3-contrib's ``TQC`` (first base).

    Subclasses give the algorithm's target, critic loss and the critics' value of the actor's
    actions; everything else, and everything SB3 saves, is the algorithm's own.
    """

    _fast: UpdateParts | None = None
    _fast_unsupported: str | None = None
    _fast_sources: tuple[Any, ...] = ()

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
        self._fast_sources = ()
        self._fast_parts()

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_fast", "_fast_unsupported", "_fast_sources"]

    @property
    def update_engine(self) -> str:
        """``"fast (eager)"``, or why this model's update is SB3's own."""
        if self._fast_parts() is None:
            return f"sb3 (the fast engine does not support {self._fast_unsupported})"
        return f"{FAST} (eager)"

    def _fast_parts(self) -> UpdateParts | None:
        """What the fast update computes with, or ``None`` (and the reason in
        ``_fast_unsupported``); read again when the policy, an optimizer or the buffer is
        replaced."""
        current = sources(self)
        if len(current) == len(self._fast_sources) and all(
            new is old for new, old in zip(current, self._fast_sources, strict=True)
        ):
            return self._fast
        self._fast_sources = current
        try:
            self._fast = UpdateParts.of(self)
            self._fast.bind()
        except Unsupported as exc:
            self._fast, self._fast_unsupported = None, str(exc)
        return self._fast

    def flat_actor_weights(self) -> torch.Tensor | None:
        """The actor's trained parameters as the one flat tensor they are views of, or
        ``None`` when SB3's own update trains this model."""
        parts = self._fast_parts()
        if parts is None:
            return None
        try:
            parts.actor_optimizer.parameters.bind()
        except Unsupported:
            return None
        return parts.actor_optimizer.parameters.flat

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """SB3's ``predict``, computed without ``torch.distributions`` and module calls for
        flat Box observations (the same actions, bit for bit; others go through SB3)."""
        parts = self._fast_parts()
        space = self.observation_space
        if (
            parts is None
            or not isinstance(observation, np.ndarray)
            or not isinstance(space, spaces.Box)
            or is_image_space(space)
        ):
            return super().predict(observation, state, episode_start, deterministic)
        vectorized = is_vectorized_observation(observation, space)
        obs = torch.as_tensor(observation.reshape((-1, *space.shape)), device=self.device)
        with torch.no_grad():
            actions = parts.actor.act(parts.features(obs), deterministic)
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
        parts = self._fast_parts()
        if parts is not None:
            try:
                parts.bind()
            except Unsupported as exc:
                self._fast, self._fast_unsupported = None, str(exc)
                parts = None
        if parts is None:
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
            if parts.sampler is not None and self._vec_normalize_env is None:
                data = parts.sampler.sample(batch_size)
            else:
                data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            self._step(parts, data, logged)
            if gradient_step % self.target_update_interval == 0:
                parts.target_parameters.polyak_towards(parts.critic_optimizer.parameters, self.tau)
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for name in ("ent_coef", "actor_loss", "critic_loss", "ent_coef_loss"):
            if logged[name]:
                self.logger.record(f"train/{name}", np.mean(logged[name]))

    def _step(
        self, parts: UpdateParts, data: ReplayBufferSamples, logged: dict[str, list[float]]
    ) -> None:
        # SB3 draws the actor's noise for the batch, then for the next observations.
        noise, next_noise = self._noise(data.actions), self._noise(data.actions)
        learned = parts.ent_coef_optimizer is not None and self.log_ent_coef is not None
        if learned:
            assert self.log_ent_coef is not None
            ent_coef = torch.exp(self.log_ent_coef.detach())
        else:
            ent_coef = self.ent_coef_tensor
        features = parts.features(data.observations)

        critic_loss = self._critic_loss_of(parts, features, data, next_noise, ent_coef)
        optimizer = parts.critic_optimizer
        optimizer.step(torch.autograd.grad(critic_loss, optimizer.params))

        # The actor's forward pass does not depend on the critics, so it can follow their
        # update: SB3 runs it first only to update the entropy coefficient early, whose new
        # value the next gradient step is the first to use.
        actor_loss, log_prob = self._actor_loss_of(parts, features, noise, ent_coef)
        optimizer = parts.actor_optimizer
        optimizer.step(torch.autograd.grad(actor_loss, optimizer.params))

        if learned:
            assert self.log_ent_coef is not None and parts.ent_coef_optimizer is not None
            error = log_prob + self.target_entropy
            logged["ent_coef_loss"].append(-(self.log_ent_coef.detach() * error).mean().item())
            # d/d(log_ent_coef) of SB3's -(log_ent_coef * error).mean()
            parts.ent_coef_optimizer.step([-error.mean().reshape(1)])
        logged["ent_coef"].append(ent_coef.item())
        logged["critic_loss"].append(critic_loss.item())
        logged["actor_loss"].append(actor_loss.item())

    def _critic_loss_of(
        self,
        parts: UpdateParts,
        features: torch.Tensor,
        data: ReplayBufferSamples,
        next_noise: torch.Tensor,
        ent_coef: torch.Tensor,
    ) -> torch.Tensor:
        """The critic loss of the batch, its target computed without gradients."""
        with torch.no_grad():
            next_features = parts.features(data.next_observations)
            next_actions, next_log_prob = parts.actor.sample(next_features, next_noise)
            target = self._target(
                parts.critics_target(next_features, next_actions),
                next_log_prob.reshape(-1, 1),
                ent_coef,
                data,
                data.discounts if data.discounts is not None else self.gamma,
            )
        return self._critic_loss(parts.critics(features, data.actions), target)

    def _actor_loss_of(
        self,
        parts: UpdateParts,
        features: torch.Tensor,
        noise: torch.Tensor,
        ent_coef: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The actor loss through the (updated) critics, and the actions' ``(batch, 1)``
        log-probabilities, detached."""
        actions, log_prob = parts.actor.sample(features, noise)
        log_prob = log_prob.reshape(-1, 1)
        actor_loss = (
            ent_coef * log_prob - self._actor_value(parts.critics(features, actions))
        ).mean()
        return actor_loss, log_prob.detach()

    @staticmethod
    def _noise(actions: torch.Tensor) -> torch.Tensor:
        """Standard normal noise of the actions' shape, drawn as ``torch.distributions.Normal``
        draws it for SB3's actor (same generator, same call)."""
        return torch.empty(actions.shape, dtype=actions.dtype, device=actions.device).normal_()
