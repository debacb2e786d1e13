"""Candidate chooser: the multimask answers of an ambiguous first click, with their scores."""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

THUMB = 96


def thumbnail(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int]) -> QIcon:
    """A THUMB-px preview of `mask` tinted over `image` ((H, W, 3) uint8), cropped to its box.

    Crops and shrinks first, then tints the THUMB-px result: tinting the full-resolution crop
    held the UI thread ~16 ms per candidate on a 1800x1200 photo (the longest stall of a click).
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows):
        pad = 10
        y0, y1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, mask.shape[0])
        x0, x1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, mask.shape[1])
    else:
        y0, y1, x0, x1 = 0, mask.shape[0], 0, mask.shape[1]
    scale = THUMB / max(y1 - y0, x1 - x0)
    size = (max(1, int((x1 - x0) * scale)), max(1, int((y1 - y0) * scale)))
    crop = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = cv2.resize(mask[y0:y1, x0:x1].view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    crop[m] = 0.45 * crop[m] + 0.55 * np.array(color, np.float32)
    crop[~m] *= 0.6
    small = np.ascontiguousarray(crop.astype(np.uint8))
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
