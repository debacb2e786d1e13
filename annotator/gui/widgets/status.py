"""Status bar: tool hint, model name and device, encode state with a busy indicator, decode time."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QWidget


def keep_place(widget: QWidget) -> None:
    """Hidden, `widget` keeps its place: showing it does not re-lay out the window, which would
    resize the canvas and repaint the whole image when a propagation starts (a UI stall that
    benchmarks/gui_propagation.py --sample-stalls found)."""
    policy = widget.sizePolicy()
    policy.setRetainSizeWhenHidden(True)
    widget.setSizePolicy(policy)


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hint = QLabel("")
        self.model = QLabel("No model")
        self.encode = QLabel("")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: a moving bar while the worker is busy
        self.busy.setMaximumWidth(80)
        self.busy.setMaximumHeight(14)
        keep_place(self.busy)
        self.busy.hide()
        self.decode = QLabel("")
        self.progress = QLabel("")  # "37 / 500 done"
        self.autosaved = QLabel("")  # "Autosaved 14:05"
        self.zoom = QLabel("")  # "150%"
        self.addWidget(self.hint, 1)
        for w in (
            self.zoom, self.progress, self.autosaved, self.model, self.busy, self.encode,
            self.decode,
        ):  # fmt: skip
            self.addPermanentWidget(w)
        self._started: float | None = None
        self._what = ""
        self._tick = QTimer(self, interval=100, timeout=self._update_elapsed)

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setText(f"{done} / {total} done" if total else "")

    def set_zoom(self, percent: float) -> None:
        self.zoom.setText(f"{percent:.0f}%")

    def set_autosaved(self, when: str) -> None:
        """when: "hh:mm" of the last autosave."""
        self.autosaved.setText(f"Autosaved {when}")

    def set_model(self, name: str, device: str, precision: str = "") -> None:
        self.model.setText(" · ".join(part for part in (name, device, precision) if part))

    def start_busy(self, what: str) -> None:
        """Show "<what>… 0.0 s" counting up, with the busy bar."""
        self._what = what
        self._started = time.monotonic()
        self.busy.show()
        self._update_elapsed()
        self._tick.start()

    def set_busy_progress(self, what: str, done: int, total: int) -> None:
        """A determinate busy bar: "<what> done/total… 1.2 s" (start_busy first)."""
        self._what = f"{what} {done}/{total}"
        self.busy.setRange(0, max(total, 1))
        self.busy.setValue(done)
        self._update_elapsed()

    def ready(self, seconds: float | None = None, what: str = "encoded") -> None:
        self._tick.stop()
        self._started = None
        self.busy.setRange(0, 0)
        self.busy.hide()
        self.encode.setText("Ready" if not seconds else f"Ready ({what} in {seconds:.1f} s)")

    def set_decode_time(self, seconds: float) -> None:
        self.decode.setText(f"decode {seconds * 1000:.0f} ms")

    def _update_elapsed(self) -> None:
        if self._started is not None:
            self.encode.setText(f"{self._what}… {time.monotonic() - self._started:.1f} s")
