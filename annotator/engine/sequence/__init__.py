"""Sequences: SAM 2.1 mask propagation through videos and frame folders.

:class:`SequencePredictor` takes any :class:`FrameSequence` (``len`` and ``[i]`` -> (H, W, 3)
uint8 RGB): the engine does not import ``annotator.io``, so callers pass
``annotator.io.frames.open_frames(path)`` for a video file or a frame folder.
"""

from annotator.engine.sequence.frames import FrameSequence
from annotator.engine.sequence.predictor import SequencePredictor

__all__ = ["FrameSequence", "SequencePredictor"]
