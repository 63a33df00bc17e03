"""The networks of an SB3 SAC or TQC policy, read as the tensors they hold, and computed with
directly: the parameters stay the modules' own (same tensors, same ``state_dict`` keys), only
the way through them is leaner than calling the modules.

- :class:`Mlp`: an ``nn.Sequential`` of ``Linear`` layers and activations (SB3's
  ``create_mlp``), run as ``linear`` / activation calls without ``Module.__call__``;
- :class:`SquashedGaussianActor`: SAC's and TQC's actor, sampling a tanh-squashed Gaussian
  action and its log-probability from noise drawn by the caller;
- :class:`Critics`: every critic network of a policy, each one called on the same input.

Anything else (batch norm, dropout, a features extractor with parameters, gSDE) raises
:class:`Unsupported`, and the model keeps SB3's own update.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import FlattenExtractor
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN
from torch import nn

MODE_DEPENDENT = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.dropout._DropoutNd,
    nn.modules.instancenorm._InstanceNorm,
)
"""Modules whose output depends on ``train()`` / ``eval()``."""

ACTIVATIONS_MODULE = "torch.nn.modules.activation"

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)


class Unsupported(Exception):
    """A model part the fast update does not compute; the message says which part and why."""


@dataclass(frozen=True)
class Dense:
    """One ``nn.Linear`` layer and the activation that follows it (``None``: none)."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    activation: Callable[[torch.Tensor], torch.Tensor] | None


class Mlp:
    """An ``nn.Sequential`` of ``Linear`` layers, each followed by at most one activation."""

    def __init__(self, layers: list[Dense]) -> None:
        self.layers = layers

    @classmethod
    def of(cls, module: nn.Module, where: str) -> Mlp:
        """:raises Unsupported: for any other layer than ``Linear`` and activations"""
        children = [module] if isinstance(module, nn.Linear) else list(module.children())
        layers: list[Dense] = []
        for child in children:
            if isinstance(child, nn.Linear):
                layers.append(Dense(child.weight, child.bias, None))
            elif type(child).__module__ == ACTIVATIONS_MODULE and not list(child.parameters()):
                if not layers or layers[-1].activation is not None:
                    raise Unsupported(f"{where}: {type(child).__name__} follows no Linear")
                # In place: the output of F.linear is new, and its backward does not need it.
                activation = torch.relu_ if type(child) is nn.ReLU else child.forward
                layers[-1] = dataclasses.replace(layers[-1], activation=activation)
            else:
                raise Unsupported(f"{where} holds a {type(child).__name__} layer")
        if not layers:
            raise Unsupported(f"{where} has no Linear layer")
        return cls(layers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = F.linear(x, layer.weight, layer.bias)
            if layer.activation is not None:
                x = layer.activation(x)
        return x


def features_of(policy: BasePolicy) -> Callable[[torch.Tensor], torch.Tensor]:
    """The features every network of ``policy`` computes from an observation batch.

    SAC's and TQC's actor and critics each have a features extractor; without parameters
    (``Flatten`` for Box observations, ``CombinedExtractor`` of flattened parts for Dict ones)
    they all compute the same features, so they are computed once per batch.

    :raises Unsupported: for an extractor with parameters (a CNN), which SB3 trains
    """
    extractors = [
        model.features_extractor
        for model in (policy.actor, policy.critic, policy.critic_target)  # type: ignore[attr-defined]
    ]
    for extractor in extractors:
        if list(extractor.parameters()):
            raise Unsupported(f"the features extractor {type(extractor).__name__} has parameters")
        if type(extractor) is not type(extractors[0]):
            raise Unsupported("the actor and the critics have different features extractors")
    actor = policy.actor  # type: ignore[attr-defined]
    if type(extractors[0]) is FlattenExtractor:

        def flat(obs: torch.Tensor) -> torch.Tensor:
            # What preprocess_obs and Flatten do to a flat float batch: nothing.
            if obs.dim() == 2 and obs.dtype == torch.float32:
                return obs
            return actor.extract_features(obs, actor.features_extractor)

        return flat
    return lambda obs: actor.extract_features(obs, actor.features_extractor)


class SquashedGaussianActor:
    """SB3's SAC/TQC actor: ``tanh(mu + std * noise)`` and its log-probability.

    The log-probability is SB3's (a diagonal Gaussian's, corrected for the tanh squashing
    with the distribution's ``epsilon``), written with the noise it was drawn from, which
    spares building ``torch.distributions.Normal`` and validating its arguments.
    """

    def __init__(self, actor: nn.Module) -> None:
        if getattr(actor, "use_sde", False):
            raise Unsupported("the actor uses gSDE (use_sde=True)")
        self.latent = Mlp.of(actor.latent_pi, "actor.latent_pi") if list(actor.latent_pi) else None
        self.mu = Mlp.of(actor.mu, "actor.mu")
        self.log_std = Mlp.of(actor.log_std, "actor.log_std")
        self.epsilon = float(actor.action_dist.epsilon)

    def sample(
        self, features: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(actions, log_prob)`` for ``features`` with standard normal ``noise`` of the
        actions' shape; ``log_prob`` has shape ``(batch,)``."""
        mean, log_std = self._distribution(features)
        actions = torch.tanh(torch.addcmul(mean, noise, log_std.exp()))
        squash = torch.log(1 - actions * actions + self.epsilon)
        gaussian = 0.5 * (noise * noise).sum(dim=1) + HALF_LOG_TWO_PI * noise.shape[1]
        return actions, -(log_std + squash).sum(dim=1) - gaussian

    def act(self, features: torch.Tensor, deterministic: bool) -> torch.Tensor:
        """The actions SB3's actor returns for ``features``, bit for bit: ``tanh(mean)``, or
        ``tanh(mean + noise * std)`` with noise drawn as ``Normal.rsample`` draws it."""
        mean, log_std = self._distribution(features)
        if deterministic:
            return torch.tanh(mean)
        noise = torch.empty(mean.shape, dtype=mean.dtype, device=mean.device).normal_()
        return torch.tanh(mean + noise * log_std.exp())

    def _distribution(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = features if self.latent is None else self.latent(features)
        return self.mu(latent), self.log_std(latent).clamp(LOG_STD_MIN, LOG_STD_MAX)


class Critics:
    """Every critic network of a critic module (``qf0``, ``qf1``, ...), on one input."""

    def __init__(self, critic: nn.Module, where: str) -> None:
        self.networks = [
            Mlp.of(network, f"{where}.qf{index}")
            for index, network in enumerate(critic.q_networks)  # type: ignore[arg-type]
        ]

    def __call__(self, features: torch.Tensor, actions: torch.Tensor) -> list[torch.Tensor]:
        x = torch.cat([features, actions], dim=1)
        return [network(x) for network in self.networks]


def mode_dependent(module: nn.Module) -> bool:
    """Whether any part of ``module`` behaves differently in training and evaluation mode."""
    return any(isinstance(part, MODE_DEPENDENT) for part in module.modules())


def switch_mode_only_on_change(policy: BasePolicy) -> None:
    """Make ``policy.set_training_mode(mode)`` return at once when the policy is in ``mode``.

    SB3 sets the mode before every rollout step and every prediction, walking all modules each
    time; for networks whose output does not depend on the mode (no batch norm, no dropout)
    only a real change needs the walk. The method is bound to the policy itself, so a deep
    copy of the policy gets its own.
    """
    if not mode_dependent(policy):
        policy.set_training_mode = types.MethodType(_set_mode_if_changed, policy)  # type: ignore[method-assign]


def _set_mode_if_changed(policy: BasePolicy, mode: bool) -> None:
    if mode != policy.training:
        type(policy).set_training_mode(policy, mode)
