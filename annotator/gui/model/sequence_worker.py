"""SequenceWorker: propagation in the model thread, beside the ModelWorker that owns the model.

It lives in the same QThread as the ModelWorker, so the network never runs on two threads at
once; it reaches the loaded model through the worker (``model_of``) and keeps one engine
``SequencePredictor`` per model and frame list, so a re-propagation reuses the cached frame
features. A job is done in small units, one per queued ``pump``: each key mask, then each
propagated frame. Between units the event loop runs the ModelWorker's own work (an image
switch, a click's decode) and the worker reads the shared `PropagationBox` again, so a newer
job or a cancel takes effect after at most one frame, and every frame finished before it has
already been delivered. Each unit runs with one torch thread fewer than the cores and a short
GIL switch interval (`ui_first`), so the UI thread is not kept waiting while it runs.

Each frame's masks go to the UI as COCO RLEs, encoded here: the project stores RLEs, and
encoding a 1280x720 mask costs the UI thread ~4 ms an object that this thread spends instead.
Beside them goes a `ShownFrame`: the frame's pixels the engine read (or this thread reads) and
the bool masks, so a canvas that follows the propagation shows the frame without reading its
JPEG again (~12 ms at 1280x720) or decoding the RLEs (~2 ms an object) on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from annotator.gui.model.cpu_share import ui_first
from annotator.gui.session.propagation import PropagationJob
from annotator.io.images import ImageReadError, read_image
from annotator.io.masks import Rle, encode_mask

log = logging.getLogger(__name__)

NOT_SAM2 = (
    "Propagation needs a SAM 2.1 model (memory and object pointers): load one from the Model "
    "menu (sam2.1_hiera_*)"
)


@dataclass
class PropagationBox:
    """The job the client wants run (None: none, which cancels a running one)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    job: PropagationJob | None = None
    stopping: bool = False


@dataclass(frozen=True)
class ShownFrame:
    """What the canvas needs to show a finished frame: ``image`` (H, W, 3) uint8 RGB, the
    frame as read from its file, and ``masks`` (N, H, W) bool, the masks its RLEs encode."""

    image: np.ndarray
    masks: np.ndarray


class FileFrames:
    """Frames by path, read when the engine asks: ``len`` and ``[i]`` -> (H, W, 3) uint8 RGB.

    The last `KEEP` frames read stay, so the frame a propagation step just read is handed to the
    UI as it is; ``reads`` counts the files read."""

    KEEP = 2  # the engine reads frame i just before yielding its result

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self.reads = 0
        self._recent: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        frame = self._recent.pop(index, None)
        if frame is None:
            frame = read_image(self.paths[index])
            self.reads += 1
        self._recent[index] = frame
        while len(self._recent) > self.KEEP:
            del self._recent[next(iter(self._recent))]  # the oldest read
        return frame


def frame_rles(masks: Any) -> list[Rle | None]:
    """(N, H, W) masks of one frame (nonzero = inside) -> N compressed RLEs at the frame's size,
    None where the object is not on the frame (an empty mask)."""
    masks = np.asarray(masks, bool)
    return [encode_mask(m) if m.any() else None for m in masks]


def engine_sequence_predictor(model: Any) -> Any:
    from annotator.engine.sequence import SequencePredictor

    return SequencePredictor(model)


class SequenceWorker(QObject):
    """Every slot runs in the model thread; signals reach the UI queued."""

    # job_id, position, object ids, `frame_rles`, `ShownFrame`
    frameDone = Signal(int, int, object, object, object)
    finished = Signal(int, bool)  # job_id, cancelled
    failed = Signal(int, str)  # job_id, message

    def __init__(
        self,
        box: PropagationBox,
        model_of: Callable[[], Any],
        make_predictor: Callable[[Any], Any] = engine_sequence_predictor,
    ) -> None:
        super().__init__()
        self._box = box
        self._model_of = model_of
        self._make = make_predictor
        self._predictor: Any = None
        self._holds: tuple[int, tuple[str, ...]] | None = None  # (id(model), frame paths)
        self._frames: FileFrames | None = None
        self._job: PropagationJob | None = None
        self._steps: Iterator[Any] | None = None

    @Slot()
    def pump(self) -> None:
        with self._box.lock:
            wanted = None if self._box.stopping else self._box.job
        if self._job is not None and wanted is not self._job:
            self._end(cancelled=True)
        if wanted is None:
            return
        if self._job is None:
            self._job, self._steps = wanted, self._run(wanted)
        try:
            with ui_first():  # the UI thread keeps a core and gets the GIL soon: cpu_share.py
                next(self._steps)
        except StopIteration:
            self._end(cancelled=False)
            return
        except Exception as exc:  # reported to the user; the thread keeps serving
            log.warning("propagation failed", exc_info=exc)
            job_id = self._job.job_id
            self._clear()
            # a ValueError is ours or the engine's message for the user; others are named
            text = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            self.failed.emit(job_id, text)
            return
        QTimer.singleShot(0, self.pump)

    def _end(self, cancelled: bool) -> None:
        job_id = self._job.job_id
        self._clear()
        self.finished.emit(job_id, cancelled)

    def _clear(self) -> None:
        with self._box.lock:
            if self._box.job is self._job:
                self._box.job = None
        self._job = self._steps = None

    def _run(self, job: PropagationJob) -> Iterator[None]:
        """The job's units: prompts (one per key mask), then the frames of each direction."""
        predictor = self._sequence_predictor(job)
        yield
        predictor.reset()
        for key in job.keys:
            predictor.add_mask(key.position, key.object_id, key.mask)
            yield
        for reverse in job.reverse:
            for position, ids, masks in predictor.propagate(job.start, reverse=reverse):
                masks = np.array(masks, dtype=bool)  # a copy the UI may keep
                shown = self._shown(position, masks)
                self.frameDone.emit(job.job_id, position, list(ids), frame_rles(masks), shown)
                yield

    def _shown(self, position: int, masks: np.ndarray) -> ShownFrame | None:
        """The frame the engine just read (read here when its features were cached), or None
        when it cannot be read: the UI then reads it itself and says what is wrong."""
        try:
            return ShownFrame(self._frames[position], masks)
        except (ImageReadError, OSError):
            return None

    def _sequence_predictor(self, job: PropagationJob) -> Any:
        model = self._model_of()
        if model is None:
            raise RuntimeError("no model is loaded yet")
        key = (id(model), job.frame_paths)
        if self._holds is None or self._holds[0] != key[0]:
            try:
                self._predictor = self._make(model)
            except TypeError as exc:
                raise ValueError(NOT_SAM2) from exc
            self._holds = None
        if self._holds != key:
            self._frames = FileFrames(job.frame_paths)
            self._predictor.init_state(self._frames)
            self._holds = key
        return self._predictor
