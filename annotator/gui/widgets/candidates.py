"""Candidate chooser: the multimask answers of an ambiguous first click, with their scores."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

THUMB = 96


def thumbnail(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int]) -> QIcon:
    """A THUMB-px preview of `mask` tinted over `image` ((H, W, 3) uint8), cropped to its box."""
    ys, xs = np.nonzero(mask)
    if len(xs):
        pad = 10
        y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, mask.shape[0])
        x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, mask.shape[1])
    else:
        y0, y1, x0, x1 = 0, mask.shape[0], 0, mask.shape[1]
    crop = image[y0:y1, x0:x1].astype(np.float32)
    m = mask[y0:y1, x0:x1]
    crop[m] = 0.45 * crop[m] + 0.55 * np.array(color, np.float32)
    crop[~m] *= 0.6
    scale = THUMB / max(crop.shape[:2])
    size = (max(1, int(crop.shape[1] * scale)), max(1, int(crop.shape[0] * scale)))
    small = np.ascontiguousarray(cv2.resize(crop.astype(np.uint8), size))
    qimg = QImage(
        small.data, small.shape[1], small.shape[0], small.strides[0], QImage.Format.Format_RGB888
    )
    return QIcon(QPixmap.fromImage(qimg.copy()))


OVERLAY_MARGIN = 8  # px from the parent's top-left corner


class CandidateBar(QWidget):
    """Shown while several candidates exist; click one, or press Tab to cycle. Given a parent
    (the canvas) it floats over the parent's top-left corner instead of taking layout space."""

    chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)  # opaque over the image, in the window's colours
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 2, 4, 2)
        self._label = QLabel("Candidates (Tab cycles):")
        self._layout.addWidget(self._label)
        self.buttons: list[QToolButton] = []
        self._layout.addStretch(1)
        self.hide()

    def set_candidates(
        self,
        image: np.ndarray | None,
        masks: np.ndarray | None,
        scores: np.ndarray | None,
        chosen: int,
        color: tuple[int, int, int],
    ) -> None:
        for b in self.buttons:
            b.deleteLater()
        self.buttons = []
        if image is None or masks is None or scores is None or len(scores) < 2:
            self.hide()
            return
        for i, (mask, score) in enumerate(zip(masks, scores, strict=True)):
            b = QToolButton()
            b.setCheckable(True)
            b.setChecked(i == chosen)
            b.setIcon(thumbnail(image, mask, color))
            b.setIconSize(QSize(THUMB, THUMB))
            b.setText(f"{i + 1}: {float(score):.2f}")
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            b.setToolTip(f"Candidate {i + 1}, predicted IoU {float(score):.3f}")
            b.clicked.connect(lambda _=False, i=i: self.chosen.emit(i))
            self._layout.insertWidget(1 + i, b)
            self.buttons.append(b)
        self.adjustSize()
        self.move(OVERLAY_MARGIN, OVERLAY_MARGIN)
        self.show()
        self.raise_()
