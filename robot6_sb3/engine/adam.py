"""Stepping SB3's Adam optimizers with PyTorch's multi-tensor kernels, leaving them as SB3 made
them.

``torch.optim.Adam`` on the CPU defaults to its for-loop implementation: about ten small
tensor operations per parameter, in Python, for every step. The same algorithm runs here in
one fused kernel call per optimizer (``foreach`` kernels on other devices), through PyTorch's
functional ``torch.optim.adam.adam`` with the optimizer's own hyperparameters and state.

The optimizer object is never changed: its ``param_groups`` keep SB3's flags (``fused`` and
``foreach`` stay ``None``), its state lives where ``torch.optim.Adam`` keeps it, with the
same keys, shapes and dtypes, so its ``state_dict`` has the same layout with either engine
and loads into either. Loading a state dict replaces the optimizer's state, which is noticed
here and read again.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.optim.adam import adam
from torch.optim.optimizer import _get_scalar_dtype

from robot6_sb3.engine.networks import Unsupported

UNSUPPORTED_OPTIONS = ("capturable", "differentiable", "decoupled_weight_decay")


class FusedAdam:
    """Runs the steps of a ``torch.optim.Adam`` (one param group) with multi-tensor kernels.

    :param optimizer: the optimizer SB3 built (``actor.optimizer``, ``critic.optimizer``,
        ``ent_coef_optimizer``)
    :param where: its name, for messages
    :raises Unsupported: for another optimizer class or options the kernels lack
    """

    def __init__(self, optimizer: torch.optim.Optimizer, where: str) -> None:
        if type(optimizer) is not torch.optim.Adam:
            raise Unsupported(f"{where} is a {type(optimizer).__name__}, not Adam")
        if len(optimizer.param_groups) != 1:
            raise Unsupported(f"{where} has {len(optimizer.param_groups)} param groups")
        group = optimizer.param_groups[0]
        for option in UNSUPPORTED_OPTIONS:
            if group.get(option):
                raise Unsupported(f"{where} uses Adam's {option} option")
        self.optimizer = optimizer
        self.params: list[torch.Tensor] = list(group["params"])
        self._state: object = None
        self._lists: tuple[list[torch.Tensor], ...] = ()
        self._fused = all(p.device.type == "cpu" for p in self.params)

    def step(self, grads: Sequence[torch.Tensor]) -> None:
        """One Adam step of the parameters with ``grads`` (in the optimizer's order)."""
        group = self.optimizer.param_groups[0]
        if self.optimizer.state is not self._state:
            self._read_state(group["amsgrad"])
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps = self._lists
        beta1, beta2 = group["betas"]
        adam(
            self.params,
            list(grads),
            exp_avgs,
            exp_avg_sqs,
            max_exp_avg_sqs,
            steps,
            foreach=not self._fused,
            fused=self._fused,
            amsgrad=group["amsgrad"],
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )

    def _read_state(self, amsgrad: bool) -> None:
        """The state tensors, created as ``torch.optim.Adam`` creates them on its first step."""
        state = self.optimizer.state
        for param in self.params:
            entry = state[param]
            if not entry:
                entry["step"] = torch.tensor(0.0, dtype=_get_scalar_dtype())
                entry["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                entry["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                if amsgrad:
                    entry["max_exp_avg_sq"] = torch.zeros_like(
                        param, memory_format=torch.preserve_format
                    )
        entries = [state[param] for param in self.params]
        self._lists = (
            [entry["exp_avg"] for entry in entries],
            [entry["exp_avg_sq"] for entry in entries],
            [entry["max_exp_avg_sq"] for entry in entries] if amsgrad else [],
            [entry["step"] for entry in entries],
        )
        self._state = state
