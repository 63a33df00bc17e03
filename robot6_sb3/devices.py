"""Where a model trains: ``auto``, ``cpu`` or ``cuda``."""

from __future__ import annotations

from robot6_sb3.config_fields import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def choose_device(device: str) -> str:
    """``device``, checked against this machine.

    :raises ConfigError: (field ``device``) for an unknown name, or ``cuda`` without a GPU
    """
    if device not in DEVICES:
        raise ConfigError("device", f"must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                "device",
                "cuda was asked for, but PyTorch sees no CUDA GPU on this machine "
                f"(torch {torch.__version__}); use cpu or auto",
            )
    return device
