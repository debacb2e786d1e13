"""The job helpers every runner (local or Ray) shares."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from annotator.distributed.jobs import read_ahead
from annotator.io.images import read_image


def test_read_ahead_yields_images_in_order_and_errors_in_place(tmp_path: Path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((3, 5, 3), 7, np.uint8))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    got = list(read_ahead([good, bad, good], read_image))
    assert [p for p, _, _ in got] == [good, bad, good]
    assert got[0][1].shape == (3, 5, 3) and got[0][2] is None
    assert got[1][1] is None and got[1][2] is not None
    assert list(read_ahead([], read_image)) == []
