"""A stand-in for SequenceClient: the same signals, one frame per timer tick in the UI event
loop. Each object's mask on a frame is its nearest key mask moved `shift` pixels right per
frame away from that key (what a tracker of a rightward-moving object would answer), so a test
can tell a key frame's influence and recompute the expected masks. Like the SequenceWorker, it
sends each frame's masks as RLEs (None where the object left the frame) with a `ShownFrame`:
the frame's pixels, read here (``reads`` counts them), and the bool masks; ``shown`` keeps the
last one sent per position."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from annotator.gui.model.sequence_worker import ShownFrame, frame_rles
from annotator.gui.session.propagation import PropagationJob
from annotator.io.images import read_image


def expected_mask(job: PropagationJob, object_id: int, position: int, shift: int) -> np.ndarray:
    keys = [k for k in job.keys if k.object_id == object_id]
    key = min(keys, key=lambda k: (abs(k.position - position), k.position))
    return shifted(key.mask, shift * (position - key.position))


def shifted(mask: np.ndarray, dx: int) -> np.ndarray:
    """`mask` moved dx pixels right (left when negative); what leaves the frame is gone."""
    out = np.zeros_like(mask)
    w = mask.shape[1]
    if abs(dx) < w:
        if dx >= 0:
            out[:, dx:] = mask[:, : w - dx]
        else:
            out[:, :dx] = mask[:, -dx:]
    return out


class FakePropagator(QObject):
    frameReady = Signal(int, int, object, object, object)
    finished = Signal(int, bool)
    failed = Signal(int, str)

    def __init__(self, delay_ms: int = 5, shift: int = 3) -> None:
        super().__init__()
        self.delay_ms, self.shift = delay_ms, shift
        self.jobs: list[PropagationJob] = []
        self._queue: list[int] = []
        self._job: PropagationJob | None = None
        self._timer = QTimer(self, interval=delay_ms, timeout=self._tick)
        self.reads = 0
        self.shown: dict[int, ShownFrame] = {}

    def propagate(self, job: PropagationJob) -> None:
        self.jobs.append(job)
        self._job = job
        n = len(job.frame_paths)
        self._queue = []
        for reverse in job.reverse:
            self._queue += list(range(job.start, -1, -1) if reverse else range(job.start, n))
        self._timer.start()

    def cancel(self) -> None:
        if self._job is not None:
            self._timer.stop()
            job, self._job = self._job, None
            QTimer.singleShot(0, lambda: self.finished.emit(job.job_id, True))

    def shutdown(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        job = self._job
        if job is None:
            return
        if not self._queue:
            self._timer.stop()
            self._job = None
            self.finished.emit(job.job_id, False)
            return
        position = self._queue.pop(0)
        ids = sorted({k.object_id for k in job.keys})
        masks = np.stack([expected_mask(job, i, position, self.shift) for i in ids])
        self.reads += 1
        shown = ShownFrame(read_image(job.frame_paths[position]), masks)
        self.shown[position] = shown
        self.frameReady.emit(job.job_id, position, ids, frame_rles(masks), shown)
