"""SequenceClient: the window's handle on propagation. Lives in the UI thread, never blocks.

``propagate(job)`` writes the job into the `PropagationBox` and posts a queued wake-up to the
`SequenceWorker` in the model thread; ``cancel()`` empties the box. Results come back as queued
signals, one per finished frame, and only those of the job still wanted are passed on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from annotator.gui.model.sequence_worker import (
    PropagationBox,
    SequenceWorker,
    engine_sequence_predictor,
)
from annotator.gui.session.propagation import PropagationJob


class SequenceClient(QObject):
    # job_id, position, object ids, RLEs or None, `ShownFrame` (pixels and bool masks)
    frameReady = Signal(int, int, object, object, object)
    finished = Signal(int, bool)  # job_id, cancelled
    failed = Signal(int, str)  # job_id, message

    _wake = Signal()

    def __init__(
        self,
        thread: QThread,
        model_of: Callable[[], Any],
        make_predictor: Callable[[Any], Any] = engine_sequence_predictor,
        parent: QObject | None = None,
    ) -> None:
        """thread: the model thread; model_of: (in that thread) the loaded network or None."""
        super().__init__(parent)
        self._box = PropagationBox()
        self._worker = SequenceWorker(self._box, model_of, make_predictor)
        self._worker.moveToThread(thread)
        thread.finished.connect(self._worker.deleteLater)
        self._wake.connect(self._worker.pump)
        self._worker.frameDone.connect(self._on_frame)
        self._worker.finished.connect(self.finished)
        self._worker.failed.connect(self.failed)
        self._wanted: int | None = None

    def propagate(self, job: PropagationJob) -> None:
        """Run `job` (a running one is cancelled: its finished(cancelled=True) comes first)."""
        self._wanted = job.job_id
        with self._box.lock:
            self._box.job = job
        self._wake.emit()

    def cancel(self) -> None:
        """Stop after the frame being computed; every frame delivered before stays."""
        with self._box.lock:
            self._box.job = None
        self._wake.emit()

    def shutdown(self) -> None:
        with self._box.lock:
            self._box.job, self._box.stopping = None, True

    @Slot(int, int, object, object, object)
    def _on_frame(self, job_id: int, position: int, ids: list[int], masks: Any, shown) -> None:
        # a cancelled job's frames computed before the cancel are still delivered (kept)
        if job_id == self._wanted:
            self.frameReady.emit(job_id, position, ids, masks, shown)
