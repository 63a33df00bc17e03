"""The training hyperparameters: one dataclass, stored in every checkpoint's metadata.

The defaults are the recommended settings for ``Robot6Reach-v0`` (measured in
``benchmarks/``); the ``robot6 train`` options map onto these fields one to one.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Hyperparameters:
    """SAC/TQC settings for one run."""

    learning_rate: float = 1e-3
    """Adam learning rate of the actor, the critics and the entropy coefficient."""

    buffer_size: int = 1_000_000
    """Replay buffer capacity, in transitions."""

    learning_starts: int = 1000
    """Env steps of uniformly random actions before the first gradient step (counted from step 0)."""

    batch_size: int = 256
    """Transitions per gradient step."""

    tau: float = 0.05
    """Polyak coefficient of the target critics (1.0 copies the critics)."""

    gamma: float = 0.95
    """Discount factor."""

    train_freq: int = 1
    """Env steps between two rounds of gradient steps."""

    gradient_steps: int = 1
    """Gradient steps per round."""

    net_arch: tuple[int, ...] = field(default=(128, 128))
    """Hidden layer sizes, shared by the actor and each critic."""

    @classmethod
    def help_text(cls, name: str) -> str:
        """The docstring of field ``name`` and its default, for ``robot6 train --help``."""
        default = getattr(cls(), name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        return f"{_field_docs()[name]} New runs: {shown}; resumed runs keep the checkpoint's."

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, not tuples) as stored in checkpoint metadata."""
        values = dataclasses.asdict(self)
        values["net_arch"] = list(self.net_arch)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Hyperparameters:
        """Rebuild from :meth:`to_dict` output, ignoring fields this version does not know.

        :raises ValueError: when a value has the wrong type (a damaged or foreign checkpoint)
        """
        kwargs = {}
        defaults = cls()
        for field_ in dataclasses.fields(cls):
            if field_.name not in values:
                continue
            value = values[field_.name]
            default = getattr(defaults, field_.name)
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value
                ):
                    raise ValueError(
                        f"{field_.name} must be a list of positive ints, got {value!r}"
                    )
                value = tuple(value)
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{field_.name} must be a number, got {value!r}")
            elif isinstance(default, int) and not isinstance(value, int):
                raise ValueError(f"{field_.name} must be an int, got {value!r}")
            kwargs[field_.name] = value
        return cls(**kwargs)

    def sb3_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``SAC(...)`` / ``TQC(...)``."""
        return {
            "learning_rate": self.learning_rate,
            "buffer_size": self.buffer_size,
            "learning_starts": self.learning_starts,
            "batch_size": self.batch_size,
            "tau": self.tau,
            "gamma": self.gamma,
            "train_freq": self.train_freq,
            "gradient_steps": self.gradient_steps,
            "policy_kwargs": {"net_arch": list(self.net_arch)},
        }

    def replace(self, **changes: Any) -> Hyperparameters:
        """A copy with ``changes`` applied; ``None`` values leave a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


@functools.cache
def _field_docs() -> dict[str, str]:
    """Each field's docstring (the string right below it in the class body)."""
    body = ast.parse(inspect.getsource(Hyperparameters)).body[0].body
    docs = {}
    for field_node, doc_node in itertools.pairwise(body):
        if (
            isinstance(field_node, ast.AnnAssign)
            and isinstance(field_node.target, ast.Name)
            and isinstance(doc_node, ast.Expr)
            and isinstance(doc_node.value, ast.Constant)
        ):
            docs[field_node.target.id] = " ".join(str(doc_node.value.value).split())
    return docs
