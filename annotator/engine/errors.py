"""Errors and warnings of the engine. Every checkpoint error names the file it is about."""

from __future__ import annotations

from pathlib import Path


class CheckpointError(ValueError):
    """A checkpoint file cannot be used; ``path`` is the file, the message says why."""

    def __init__(self, path: str | Path | None, message: str) -> None:
        self.path = None if path is None else Path(path)
        where = "bundled LiteMedSAM checkpoint" if path is None else str(path)
        super().__init__(f"{where}: {message}")


class CheckpointNotFoundError(CheckpointError):
    """The checkpoint file does not exist."""


class CheckpointFormatError(CheckpointError):
    """The file is not a (complete) PyTorch checkpoint, or holds no state dict."""


class UnknownArchitectureError(CheckpointError):
    """The state dict matches none of the supported architectures."""


class ShapeMismatchError(CheckpointError):
    """The state dict has the right keys for the architecture but wrong tensor shapes."""


class ModelTypeMismatchError(CheckpointError):
    """An explicit ``model_type`` contradicts what the weights are."""


class DeviceError(ValueError):
    """The requested torch device does not exist here; the message lists the ones that do."""


class NonFiniteWeightsWarning(UserWarning):
    """A checkpoint holds NaN or Inf values; the message names the tensors."""


class ThinImageWarning(UserWarning):
    """An image is so elongated that its short side almost vanishes at model resolution."""


class MissingDependencyError(ImportError):
    """An optional package a feature needs is not installed; the message says how to get it."""
