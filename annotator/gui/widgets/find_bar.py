"""The Find bar (Ctrl+F) and the candidates' overlay on the canvas."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSlider, QWidget

from annotator.gui.widgets.overlays import outline_path, rgba_overlay

KEPT_ALPHA = 120
DROPPED_ALPHA = 35
DROPPED_COLOR = "#9e9e9e"


class FindBar(QWidget):
    """Phrase field, score slider, exemplar toggle, accept / accept all / discard."""

    submitted = Signal(str)  # Enter in the phrase field
    minScoreChanged = Signal(float)
    acceptRequested = Signal(bool)  # True: accept all, False: the kept ones
    discardRequested = Signal()
    exemplarToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(QLabel("Find:"))
        self.edit = QLineEdit()
        self.edit.setPlaceholderText('a phrase, e.g. "car" or "person with helmet"; Enter')
        self.edit.returnPressed.connect(lambda: self.submitted.emit(self.edit.text()))
        layout.addWidget(self.edit, 2)
        self.exemplar = QPushButton("Exemplar box")
        self.exemplar.setCheckable(True)
        self.exemplar.setToolTip("Shift+B: drag a box on one instance (Shift+drag: not this)")
        self.exemplar.toggled.connect(self.exemplarToggled)
        layout.addWidget(self.exemplar)
        layout.addWidget(QLabel("min score"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        self.slider.setFixedWidth(140)
        self.slider.valueChanged.connect(self._on_slider)
        layout.addWidget(self.slider)
        self.score_label = QLabel("0.50")
        layout.addWidget(self.score_label)
        self.count = QLabel("")
        layout.addWidget(self.count, 1)
        self.accept_kept = QPushButton("Accept kept (Enter)")
        self.accept_kept.clicked.connect(lambda: self.acceptRequested.emit(False))
        self.accept_all = QPushButton("Accept all")
        self.accept_all.clicked.connect(lambda: self.acceptRequested.emit(True))
        self.discard = QPushButton("Discard (Esc)")
        self.discard.clicked.connect(self.discardRequested)
        for button in (self.accept_kept, self.accept_all, self.discard):
            layout.addWidget(button)
        self.hide()

    @property
    def min_score(self) -> float:
        return self.slider.value() / 100.0

    def _on_slider(self, value: int) -> None:
        self.score_label.setText(f"{value / 100:.2f}")
        self.minScoreChanged.emit(value / 100.0)

    def open(self) -> None:
        """Ctrl+F: show the bar with the phrase selected for typing."""
        self.show()
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def set_counts(self, kept: int, total: int, waiting: bool) -> None:
        if waiting:
            self.count.setText("finding…")
        else:
            self.count.setText(f"{kept} of {total} kept" if total else "")
        for button in (self.accept_kept, self.accept_all, self.discard):
            button.setEnabled(bool(total) and not waiting)


class FindOverlay:
    """Candidates drawn on a canvas: kept ones in the category colour with their score, dropped
    ones faint grey; exemplar boxes green (negative ones red)."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self.fill = pg.ImageItem()
        self.lines = pg.QtWidgets.QGraphicsPathItem()
        self.boxes = pg.PlotCurveItem(pen=pg.mkPen("#2ecc71", width=2))
        self.negative = pg.PlotCurveItem(pen=pg.mkPen("#e74c3c", width=2))
        self.labels: list[pg.TextItem] = []
        for z, item in enumerate((self.fill, self.lines, self.boxes, self.negative)):
            item.setZValue(5.5 + 0.01 * z)  # above the masks, under the prompts
            canvas.vb.addItem(item)

    def show(self, candidates, exemplars, color: str) -> None:
        """candidates: [(mask (H, W) bool, box XYXY, score, kept)]; exemplars: [(box, pos)]."""
        for label in self.labels:
            self.canvas.vb.removeItem(label)
        self.labels = []
        layers = [
            (m, color if kept else DROPPED_COLOR, KEPT_ALPHA if kept else DROPPED_ALPHA)
            for m, _, _, kept in candidates
        ]
        overlay = rgba_overlay(self.canvas.shape, layers) if layers else None
        if overlay is None:
            self.fill.clear()
        else:
            rgba, (x0, y0) = overlay
            self.fill.setImage(rgba, autoLevels=False, levels=None)
            self.fill.setRect(pg.QtCore.QRectF(x0, y0, rgba.shape[1], rgba.shape[0]))
        path = outline_path(None)
        for mask, box, score, kept in candidates:
            if kept:
                path.addPath(outline_path(mask))
            label = pg.TextItem(f"{score:.2f}", color="#ffffff" if kept else DROPPED_COLOR,
                                fill=pg.mkBrush(0, 0, 0, 140), anchor=(0, 1))  # fmt: skip
            label.setPos(box[0], box[1])
            label.setZValue(5.6)
            self.canvas.vb.addItem(label)
            self.labels.append(label)
        self.lines.setPen(pg.mkPen(color, width=1.5))
        self.lines.setPath(path)
        for curve, positive in ((self.boxes, True), (self.negative, False)):
            xs: list[float] = []
            ys: list[float] = []
            for (x0, y0, x1, y1), pos in exemplars:
                if pos == positive:
                    xs += [x0, x1, x1, x0, x0, np.nan]
                    ys += [y0, y0, y1, y1, y0, np.nan]
            curve.setData(xs, ys, connect="finite")

    def clear(self) -> None:
        self.show([], [], "#ffffff")
