"""One frame rule: a frame folder / array source (io) and the sequence predictor (engine) refuse
the same bad frames with the same words."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.engine.sequence.frames import checked_frame
from annotator.io.frames import FrameSourceError, check_frame

BAD = [
    (np.zeros((4, 4, 3), np.float32), "frame 3 is float32, expected (H, W, 3) uint8 RGB"),
    (np.zeros((4, 4), np.uint8), "frame 3 has shape (4, 4), expected (H, W, 3)"),
    (np.zeros((0, 4, 3), np.uint8), "frame 3 has shape (0, 4, 3), expected (H, W, 3)"),
    ([[0, 0, 0]], "frame 3 is list, expected (H, W, 3) uint8 RGB"),
]


@pytest.mark.parametrize(("frame", "reason"), BAD)
def test_io_and_engine_refuse_a_bad_frame_alike(frame, reason):
    with pytest.raises(FrameSourceError) as io_error:
        check_frame(frame, 3)
    with pytest.raises(ValueError) as engine_error:
        checked_frame(frame, 3)
    assert reason in str(io_error.value)
    assert str(engine_error.value) == reason


def test_a_good_frame_passes_both():
    frame = np.zeros((2, 5, 3), np.uint8)
    assert check_frame(frame, 0) is frame and checked_frame(frame, 0) is frame
