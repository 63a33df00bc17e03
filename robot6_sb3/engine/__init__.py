"""The fast engine: SAC and TQC that stay SB3 models but compute their gradient update leaner.

``FastSAC`` and ``FastTQC`` are SB3's ``SAC`` and sb3-contrib's ``TQC`` (same constructor,
policies, ``save``/``load``, saved state and checkpoint layout) whose ``train()`` computes the
same losses and gradients as SB3's with fewer, larger tensor operations: networks called
as plain tensor functions, gradients only where a step uses them, Adam through PyTorch's
multi-tensor kernels, no per-step mode switching, and TQC's quantile loss from sorted targets
(:mod:`robot6_sb3.engine.update` lists the steps). A model the engine does not compute
(batch norm, dropout, gSDE, a CNN features extractor, another optimizer) keeps SB3's update;
``model.update_engine`` says which update runs and why.

Both engines draw from the same random generators in the same order, but do not round the
same way, so a run continues bitwise only with the engine it was made with.

The update runs eagerly. ``torch.compile`` of its loss functions was measured on the CPU
this project trains on: 15-25 s to compile, and the compiled update was no faster than the
eager one (0-7 % slower), so it would never pay back its compile time there; nor is there a
CUDA-graph path, which nothing here could test.
"""

from stable_baselines3.common.base_class import BaseAlgorithm

from robot6_sb3.algorithms import FAST, SB3
from robot6_sb3.engine.sac import FastSAC
from robot6_sb3.engine.tqc import FastTQC

__all__ = ["FAST", "SB3", "FastSAC", "FastTQC", "describe_engine"]


def describe_engine(model: BaseAlgorithm) -> str:
    """Which gradient update trains ``model``, in a few words: ``"fast (eager)"``, ``"sb3"``,
    or ``"sb3 (the fast engine does not support ...)"`` for a fast model it cannot compute."""
    return getattr(model, "update_engine", SB3)
