"""What the fast update reads from a model (:mod:`robot6_sb3.engine.update`): its networks,
optimizers and replay sampler, read once and again only when one of them is replaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robot6_sb3.engine.adam import FlatAdam, FlatParameters
from robot6_sb3.engine.networks import (
    Critics,
    SquashedGaussianActor,
    Unsupported,
    features_of,
    mode_dependent,
)
from robot6_sb3.engine.sampling import ReplaySampler


@dataclass
class UpdateParts:
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
    def of(cls, model: Any) -> UpdateParts:
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


def sources(model: Any) -> tuple[Any, ...]:
    """The objects :class:`UpdateParts` are read from (a new one means read them again)."""
    return (
        model.policy,
        model.replay_buffer,
        model.actor.optimizer,
        model.critic.optimizer,
        model.ent_coef_optimizer,
        model.log_ent_coef,
    )
