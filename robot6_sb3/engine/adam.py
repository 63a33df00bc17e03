"""Adam steps and Polyak updates over a whole network group as single tensor operations,
with SB3's optimizers and parameters left where and as SB3 made them.

``torch.optim.Adam`` on the CPU defaults to its for-loop implementation: about ten small
operations per parameter, in Python, every step; and on the CPU PyTorch's multi-tensor
(``_foreach``) operations are for-loops too. Here a group's parameters (the actor's, or the
critics', or the target critics') become views of one flat tensor (:class:`FlatParameters`),
and so do their Adam moments, so one Adam step is one fused kernel call on one tensor
(through PyTorch's functional ``torch.optim.adam.adam``, fused on the CPU) and one Polyak
update is two operations.

Nothing SB3 or a checkpoint sees changes: the parameters are the modules' own ``Parameter``
objects, the optimizer's ``param_groups`` keep SB3's flags (``fused`` and ``foreach`` stay
``None``), and its state keeps ``torch.optim.Adam``'s keys, shapes, dtypes and devices (one
``step`` tensor per parameter), so its ``state_dict`` has the same layout with either engine
and loads into either. Whatever replaces a parameter's storage or the optimizer's state
(``load_state_dict``, ``.to(device)``) is noticed before the next step, which flattens
them again.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.optim.adam import adam
from torch.optim.optimizer import _get_scalar_dtype

from robot6_sb3.engine.networks import Unsupported

UNSUPPORTED_OPTIONS = ("amsgrad", "capturable", "differentiable", "decoupled_weight_decay")


class FlatParameters:
    """``parameters`` (same device and dtype) as views of one flat tensor, :attr:`flat`."""

    def __init__(self, parameters: Sequence[torch.Tensor], where: str) -> None:
        if len({(p.device, p.dtype) for p in parameters}) > 1:
            raise Unsupported(f"{where} mixes devices or dtypes")
        self.parameters = list(parameters)
        self.flat = torch.empty(0)
        self._pointers: list[int] = []
        self.bind()

    def bind(self) -> bool:
        """Make the parameters views of a flat tensor again if anything gave them other
        storage; returns whether it had to."""
        if self._pointers == [p.data_ptr() for p in self.parameters]:
            return False
        with torch.no_grad():
            self.flat = torch.cat([p.detach().reshape(-1) for p in self.parameters])
            for parameter, view in zip(self.parameters, self.views(self.flat), strict=True):
                parameter.data = view
        self._pointers = [p.data_ptr() for p in self.parameters]
        return True

    def views(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """``flat`` cut into tensors of the parameters' shapes (views, no copies)."""
        sizes = [p.numel() for p in self.parameters]
        return [
            part.view_as(parameter)
            for part, parameter in zip(flat.split(sizes), self.parameters, strict=True)
        ]

    def polyak_towards(self, source: FlatParameters, tau: float) -> None:
        """SB3's ``polyak_update(source, self, tau)``, with the same arithmetic."""
        with torch.no_grad():
            self.flat.mul_(1 - tau)
            self.flat.add_(source.flat, alpha=tau)


class FlatAdam:
    """Runs the steps of a ``torch.optim.Adam`` (one param group) on its flat parameters.

    :param optimizer: the optimizer SB3 built (``actor.optimizer``, ``critic.optimizer``,
        ``ent_coef_optimizer``)
    :param where: its name, for messages
    :raises Unsupported: for another optimizer class or options the kernel lacks
    """

    def __init__(self, optimizer: torch.optim.Optimizer, where: str) -> None:
        if type(optimizer) is not torch.optim.Adam:
            raise Unsupported(f"{where} is {type(optimizer).__name__}, not Adam")
        if len(optimizer.param_groups) != 1:
            raise Unsupported(f"{where} has {len(optimizer.param_groups)} param groups")
        group = optimizer.param_groups[0]
        for option in UNSUPPORTED_OPTIONS:
            if group.get(option):
                raise Unsupported(f"{where} uses Adam's {option} option")
        self.optimizer = optimizer
        self.where = where
        self.parameters = FlatParameters(group["params"], where)
        self._fused = self.parameters.flat.device.type == "cpu"
        self._state: object = None
        self._moments: tuple[torch.Tensor, torch.Tensor] = (torch.empty(0), torch.empty(0))
        self._steps = torch.empty(0)
        self._kernel_step = torch.empty(0)

    @property
    def params(self) -> list[torch.Tensor]:
        """The parameters, in the optimizer's order."""
        return self.parameters.parameters

    def bind(self) -> None:
        """Flatten the parameters and the optimizer's state again where something replaced
        them (a loaded state dict, a move to another device).

        :raises Unsupported: when the parameters' Adam steps differ (never after SB3's or this
            engine's updates, which step every parameter together)
        """
        moved = self.parameters.bind()
        if moved or self.optimizer.state is not self._state:
            self._bind_state()

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """One Adam step of the parameters with ``grads`` (in the optimizer's order)."""
        group = self.optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = self._moments
        adam(
            [self.parameters.flat],
            [torch.cat([grad.reshape(-1) for grad in grads])],
            [exp_avg],
            [exp_avg_sq],
            [],
            [self._kernel_step],
            foreach=not self._fused,
            fused=self._fused,
            amsgrad=False,
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )
        self._steps.add_(1)

    def _bind_state(self) -> None:
        """The state as ``torch.optim.Adam`` keeps it (created as on its first step), with
        the moments made views of two flat tensors and the steps views of one vector."""
        state = self.optimizer.state
        params = self.params
        for param in params:
            entry = state[param]
            if not entry:
                entry["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype())
                entry["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                entry["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        entries = [state[param] for param in params]
        steps = torch.stack([entry["step"] for entry in entries])
        if not bool((steps == steps[0]).all()):
            raise Unsupported(f"{self.where}'s parameters have taken different numbers of steps")
        with torch.no_grad():
            moments = tuple(
                torch.cat([entry[key].reshape(-1) for entry in entries])
                for key in ("exp_avg", "exp_avg_sq")
            )
        for key, flat in zip(("exp_avg", "exp_avg_sq"), moments, strict=True):
            for entry, view in zip(entries, self.parameters.views(flat), strict=True):
                entry[key] = view
        # Each parameter keeps a step tensor of its own (a view of one vector, so that one
        # operation counts a step for all); the kernel counts on a copy of the shared value.
        for entry, view in zip(entries, steps.unbind(), strict=True):
            entry["step"] = view
        self._moments = moments  # type: ignore[assignment]
        self._steps = steps
        self._kernel_step = steps[0].clone()
        self._state = state
