"""rgba_overlay: the RGBA crop the canvas draws committed masks with (later layers on top)."""

from __future__ import annotations

import numpy as np

from annotator.gui.widgets.overlays import rgba_overlay


def test_layers_are_composited_in_their_crop_later_on_top():
    a = np.zeros((10, 12), bool)
    a[2:6, 3:8] = True
    b = np.zeros((10, 12), bool)
    b[4:9, 6:11] = True
    rgba, (x0, y0) = rgba_overlay((10, 12), [(a, "#102030", 90), (b, "#ff8000", 200)])
    assert (x0, y0) == (3, 2) and rgba.shape == (7, 8, 4) and rgba.dtype == np.uint8
    full = np.zeros((10, 12, 4), np.uint8)
    full[y0 : y0 + 7, x0 : x0 + 8] = rgba
    assert tuple(full[3, 4]) == (0x10, 0x20, 0x30, 90)  # a only
    assert tuple(full[5, 7]) == (0xFF, 0x80, 0x00, 200)  # both: b on top
    assert tuple(full[8, 10]) == (0xFF, 0x80, 0x00, 200)  # b only
    assert tuple(full[8, 3]) == (0, 0, 0, 0)  # neither, inside the crop
    assert rgba_overlay((10, 12), [(np.zeros((10, 12), bool), "#ffffff", 255)]) is None
