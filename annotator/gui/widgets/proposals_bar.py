"""The segment-everything bar: one checkable thumbnail per proposal (checked = kept), and
Accept / Reject. It floats over the canvas's bottom-left corner, so the image never moves."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.widgets.candidates import OVERLAY_MARGIN, thumbnail

THUMB = 64


class ProposalBar(QWidget):
    toggled = Signal(int)  # proposal index
    acceptRequested = Signal()
    rejectRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        head = QHBoxLayout()
        self.label = QLabel("")
        self.accept_button = QPushButton("Accept kept (Enter)")
        self.reject_button = QPushButton("Reject all (Esc)")
        self.accept_button.clicked.connect(self.acceptRequested)
        self.reject_button.clicked.connect(self.rejectRequested)
        head.addWidget(self.label, 1)
        head.addWidget(self.accept_button)
        head.addWidget(self.reject_button)
        outer.addLayout(head)
        self._strip = QWidget()
        self._row = QHBoxLayout(self._strip)
        self._row.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidget(self._strip)
        scroll.setWidgetResizable(True)
        scroll.setFixedHeight(THUMB + 40)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        self.buttons: list[QToolButton] = []
        self.hide()

    def set_proposals(
        self,
        image: np.ndarray | None,
        masks: np.ndarray,
        scores: np.ndarray,
        kept: set[int],
        color: tuple[int, int, int],
    ) -> None:
        """Show masks (N, H, W) bool over image (H, W, 3) uint8; None image hides the bar."""
        if image is None:
            self._clear()
            self.hide()
            return
        if len(self.buttons) != len(masks):  # a new offer: rebuild the thumbnails
            self._clear()
            for i, (mask, score) in enumerate(zip(masks, scores, strict=True)):
                b = QToolButton()
                b.setCheckable(True)
                b.setIcon(thumbnail(image, mask, color))
                b.setIconSize(QSize(THUMB, THUMB))
                b.setText(f"{i + 1}: {float(score):.2f}")
                b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
                b.setToolTip(f"Proposal {i + 1}, predicted IoU {float(score):.3f}; click to drop")
                b.clicked.connect(lambda _=False, i=i: self.toggled.emit(i))
                self._row.addWidget(b)
                self.buttons.append(b)
            self._row.addStretch(1)
        for i, b in enumerate(self.buttons):
            b.setChecked(i in kept)
        self.label.setText(
            f"Segment everything: {len(kept)} of {len(masks)} kept. "
            "Click a thumbnail to keep or drop it."
        )
        self.accept_button.setText(f"Accept {len(kept)} (Enter)")
        self.accept_button.setEnabled(bool(kept))
        parent = self.parentWidget()
        width = parent.width() - 2 * OVERLAY_MARGIN if parent is not None else 600
        self.resize(max(width, 300), self.sizeHint().height())
        y = parent.height() - self.height() - OVERLAY_MARGIN if parent is not None else 0
        self.move(OVERLAY_MARGIN, max(y, OVERLAY_MARGIN))
        self.show()
        self.raise_()

    def _clear(self) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = []
