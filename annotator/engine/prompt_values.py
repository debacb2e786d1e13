"""Checks of the prompt values a user hands the predictor: one clear error per bad value."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def finite_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array; ValueError naming ``name`` if not numeric or not finite."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(value).__name__}") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def labels_array(labels: Any, n: int) -> np.ndarray:
    """(n,) int32 point labels, each 0 (background) or 1 (foreground), else ValueError."""
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(
            f"point_labels must have shape ({n},) to match point_coords, got {lab.shape}"
        )
    if lab.dtype.kind not in "biuf" or not np.all((lab == 0) | (lab == 1)):
        raise ValueError(
            f"point_labels must be 0 (background) or 1 (foreground), got {lab.tolist()}"
        )
    return lab.astype(np.int32)


def finite_tensor(value: Any, name: str) -> torch.Tensor:
    """``value`` as a tensor; ValueError naming ``name`` if it holds NaN or inf."""
    t = torch.as_tensor(value)
    if t.is_floating_point() and not torch.all(torch.isfinite(t)):
        raise ValueError(f"{name} contains NaN or inf")
    return t
