"""The SequenceWorker's units, driven in the test thread: a model that is not SAM 2.1 is
refused with a message saying what to load, a cancel between frames ends the job with every
frame finished before it delivered, and each result carries the frame's pixels the engine read
(for the canvas that follows) with its bool masks."""

from __future__ import annotations

import cv2
import numpy as np

from annotator.gui.model.sequence_worker import NOT_SAM2, PropagationBox, SequenceWorker
from annotator.gui.session.propagation import KeyMask, PropagationJob


class CountingPredictor:
    """Engine-shaped: propagate yields one all-true mask per frame for object 1."""

    def init_state(self, frames) -> None:
        self.n = len(frames)

    def reset(self) -> None:
        pass

    def add_mask(self, position, object_id, mask) -> None:
        self.shape = mask.shape

    def propagate(self, start, reverse=False):
        for pos in range(start, self.n):
            yield pos, [1], np.ones((1, *self.shape), bool)


def job(n: int = 5) -> PropagationJob:
    key = KeyMask(0, 1, np.ones((4, 4), bool))
    return PropagationJob(7, "clip", tuple(f"f{i}.png" for i in range(n)), (key,), 0, (False,))


def test_a_model_that_is_not_sam2_is_refused_with_what_to_load(qtbot):
    box = PropagationBox(job=job())
    worker = SequenceWorker(box, lambda: object())
    failed = []
    worker.failed.connect(lambda job_id, message: failed.append((job_id, message)))
    worker.pump()
    assert failed == [(7, NOT_SAM2)] and box.job is None


def test_cancel_between_frames_keeps_the_frames_delivered(qtbot):
    box = PropagationBox(job=job())
    worker = SequenceWorker(box, lambda: "model", lambda _model: CountingPredictor())
    frames, ends = [], []
    worker.frameDone.connect(lambda job_id, pos, ids, masks, shown: frames.append(pos))
    worker.finished.connect(lambda job_id, cancelled: ends.append((job_id, cancelled)))
    for _ in range(4):  # predictor, key mask, frames 0 and 1
        worker.pump()
    assert frames == [0, 1]
    with box.lock:
        box.job = None  # what SequenceClient.cancel writes
    worker.pump()
    assert ends == [(7, True)] and frames == [0, 1]
    box.job = job()  # a new job runs to the end
    qtbot.waitUntil(lambda: len(ends) == 2)
    assert ends[-1] == (7, False) and frames[2:] == [0, 1, 2, 3, 4]


class ReadingPredictor(CountingPredictor):
    """Reads each frame as it propagates it (what the engine does when computing features)."""

    def init_state(self, frames) -> None:
        super().init_state(frames)
        self.frames, self.read = frames, []

    def propagate(self, start, reverse=False):
        for pos in range(start, self.n):
            self.read.append(self.frames[pos])
            yield pos, [1], np.ones((1, *self.shape), bool)


def test_each_result_carries_the_frame_the_engine_read_and_its_masks(qtbot, tmp_path):
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"f{i}.png"))
        cv2.imwrite(paths[-1], np.full((4, 4, 3), 10 * i, np.uint8))
    key = KeyMask(0, 1, np.ones((4, 4), bool))
    predictor = ReadingPredictor()
    box = PropagationBox(job=PropagationJob(7, "clip", tuple(paths), (key,), 0, (False,)))
    worker = SequenceWorker(box, lambda: "model", lambda _model: predictor)
    results = []
    worker.frameDone.connect(lambda job_id, pos, ids, rles, shown: results.append(shown))
    worker.pump()
    qtbot.waitUntil(lambda: box.job is None)
    # the very arrays the engine read: the frame is not read a second time for the UI
    assert all(r.image is read for r, read in zip(results, predictor.read, strict=True))
    assert worker._frames.reads == 3 and results[2].image[0, 0, 0] == 20
    assert all(r.masks.shape == (1, 4, 4) and r.masks.all() for r in results)


def test_a_frame_the_worker_cannot_read_is_left_to_the_ui(qtbot):
    box = PropagationBox(job=job(2))  # f0.png, f1.png: not there
    worker = SequenceWorker(box, lambda: "model", lambda _model: CountingPredictor())
    results = []
    worker.frameDone.connect(lambda job_id, pos, ids, rles, shown: results.append((pos, shown)))
    worker.pump()
    qtbot.waitUntil(lambda: box.job is None)
    assert results == [(0, None), (1, None)]  # the UI reads it and names the problem
