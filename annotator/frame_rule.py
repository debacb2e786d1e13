"""What a frame of a sequence is: an (H, W, 3) uint8 RGB array.

One rule for the io layer's frame sources and the engine's sequence predictor, which the
import contracts keep from importing each other; each raises its own error type with it.
"""

from __future__ import annotations

import numpy as np


def frame_problem(frame: object, index: int) -> str | None:
    """Why ``frame`` (frame number ``index``) is not (H, W, 3) uint8 RGB, or None when it is."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
        kind = getattr(frame, "dtype", type(frame).__name__)
        return f"frame {index} is {kind}, expected (H, W, 3) uint8 RGB"
    if frame.ndim != 3 or frame.shape[2] != 3 or min(frame.shape[:2]) < 1:
        return f"frame {index} has shape {frame.shape}, expected (H, W, 3)"
    return None
