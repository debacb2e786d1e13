"""The plots are PNGs of the documented size with the lines drawn on them."""

from __future__ import annotations

import cv2
import numpy as np

from annotator.io.evaluation.plots import plot_miou_vs_clicks, plot_pr_curves


def _read(path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _not_blank(image: np.ndarray) -> None:
    assert image.shape == (500, 800, 3)
    white = np.all(image > 245, axis=2).mean()
    assert 0.3 < white < 0.99  # mostly background, but something is drawn
    # the default colour cycle's first two lines (blue #1f77b4, orange #ff7f0e) are there
    blue = np.all(np.abs(image.astype(int) - [180, 119, 31]) < 30, axis=2).sum()
    orange = np.all(np.abs(image.astype(int) - [14, 127, 255]) < 30, axis=2).sum()
    assert blue > 200 and orange > 200


def test_miou_plot_has_one_line_per_run(tmp_path):
    curves = {
        "sam_vit_b [clicks]": [0.55 + 0.4 * (1 - 0.7**k) for k in range(20)],
        "mobile_sam [clicks]": [0.5 + 0.35 * (1 - 0.8**k) for k in range(20)],
        "lite_medsam [box]": [0.77],
    }
    path = plot_miou_vs_clicks(curves, tmp_path / "miou_vs_clicks.png")
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _not_blank(_read(path))


def test_pr_plot(tmp_path):
    recall = np.linspace(0, 1, 101)
    curves = {"segm IoU=0.50": (recall, 1 - recall**2), "segm IoU=0.75": (recall, 1 - recall)}
    _not_blank(_read(plot_pr_curves(curves, tmp_path / "pr.png")))
