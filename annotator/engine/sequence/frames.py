"""What the sequence predictor reads frames from, and how a frame becomes model input.

The engine does not import ``annotator.io``: a sequence is any object with ``__len__`` and
``__getitem__(i) -> (H, W, 3) uint8 RGB`` (:class:`FrameSequence`), such as the io layer's
``open_frames(path)`` (a frame folder or a video file) or an (N, H, W, 3) uint8 array. Frames
are read one at a time when their features are needed and are not kept.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
from PIL import Image

from annotator.frame_rule import frame_problem


@runtime_checkable
class FrameSequence(Protocol):
    """Frames indexed 0..len-1, each (H, W, 3) uint8 RGB."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


def as_frame_sequence(frames: object) -> FrameSequence:
    """``frames`` checked to be a non-empty sequence of frames; an (N, H, W, 3) array is one."""
    if isinstance(frames, np.ndarray):
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(
                f"frames must be an (N, H, W, 3) uint8 array, got {frames.dtype} {frames.shape}"
            )
    elif not isinstance(frames, FrameSequence) or isinstance(frames, str | bytes):
        raise TypeError(
            "frames must have __len__ and __getitem__ returning (H, W, 3) uint8 RGB "
            "(for a video or a frame folder pass annotator.io.frames.open_frames(path)), "
            f"not {type(frames).__name__}"
        )
    if len(frames) == 0:
        raise ValueError("the sequence has no frames")
    return frames


def checked_frame(frame: object, index: int) -> np.ndarray:
    """``frame`` if it is (H, W, 3) uint8, else a ValueError naming the frame."""
    problem = frame_problem(frame, index)
    if problem is not None:
        raise ValueError(problem)
    return frame  # type: ignore[return-value]  # frame_problem checked it is an ndarray


def frame_to_input(frame: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, size, size) float32 on the 0-1 scale.

    Resized with Pillow's default filter to a square, exactly as Meta's video predictor loads
    frames (``load_video_frames``: ``PIL.Image.resize((size, size))``); the image predictor's
    torch antialiased bilinear resize gives different pixels, and with them different masks.
    """
    resized = np.asarray(Image.fromarray(frame).resize((size, size)), dtype=np.float32)
    return torch.from_numpy(resized / np.float32(255.0)).permute(2, 0, 1).unsqueeze(0)
