"""The frame slider of a sequence: the shown frame's index, dragging or clicking moves to a
frame, and the propagation's progress beside it (frames, frames per second, time left)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSlider, QWidget

from annotator.gui.widgets.status import keep_place


class FrameSlider(QWidget):
    frameChosen = Signal(int)  # position among the video's frames, chosen by the user

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimumWidth(220)
        self.slider.setPageStep(10)
        self.slider.setToolTip("Frame (D / A: next / previous)")
        self.label = QLabel("")
        self.label.setMinimumWidth(110)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(140)
        self.bar.setMaximumHeight(16)
        keep_place(self.bar)
        self.bar.hide()
        self.rate = QLabel("")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        for w in (self.label, self.slider, self.bar, self.rate):
            layout.addWidget(w)
        self.slider.valueChanged.connect(self._moved)
        self._setting = False

    def set_frame(self, position: int | None, count: int, frame_index: int | None) -> None:
        """The frame shown: its place among `count` frames and its frame_index (None: a plain
        image, the slider is disabled)."""
        self._setting = True
        try:
            self.slider.setEnabled(position is not None and count > 0)
            self.slider.setRange(0, max(count - 1, 0))
            self.slider.setValue(position or 0)
        finally:
            self._setting = False
        shown = "" if frame_index is None else f"Frame {frame_index}  ({position + 1}/{count})"
        self.label.setText(shown)

    def set_progress(self, running: bool, done: int, total: int, fps: float, left) -> None:
        self.bar.setVisible(running)
        if not running:
            self.rate.setText("")
            return
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        self.bar.setFormat(f"{done}/{total}")
        eta = "" if left is None else f" · {left:.0f} s left"
        self.rate.setText(f"{fps:.1f} fps{eta}" if done else "starting…")

    def _moved(self, value: int) -> None:
        if not self._setting:
            self.frameChosen.emit(value)
