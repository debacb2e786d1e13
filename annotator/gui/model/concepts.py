"""The concept model (SAM 3) beside the interactive one: its own QThread owns it, so loading,
encoding and every query run off the UI thread.

The client keeps only the latest query (a burst of queries is one run of the last), and
delivers only the answer to the latest one (``cancel`` makes it stale too). The model loads on
the first query, so a user who never presses Ctrl+F never pays for it. The image is encoded
once per image; further phrases and exemplars on it only query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

# () -> ConceptPredictor-like (set_image(image), find(text, exemplar_boxes, negative_boxes,
# threshold) -> instances with .mask, .box, .score); called in the model thread
ConceptLoader = Callable[[], Any]


@dataclass(frozen=True)
class ConceptQuery:
    """One Find: image (H, W, 3) uint8 RGB under ``image_key``; boxes XYXY image pixels."""

    request_id: int
    image_key: str
    image: np.ndarray
    phrase: str | None
    exemplar_boxes: tuple[tuple[float, float, float, float], ...] = ()
    negative_boxes: tuple[tuple[float, float, float, float], ...] = ()
    threshold: float = 0.1


@dataclass(frozen=True)
class ConceptAnswer:
    """instances: (mask (H, W) bool, box XYXY, score) per instance, best first."""

    request_id: int
    image_key: str
    instances: list[tuple[np.ndarray, tuple[float, float, float, float], float]]
    encode_seconds: float  # 0.0 when the image was already encoded
    query_seconds: float
    error: str | None = None  # why the query failed (then ``instances`` is empty)


def engine_concept_loader(device: str = "auto", dtype: str = "auto") -> ConceptLoader:
    """The downloaded SAM 3 (``annotator models download sam3``) through the engine."""

    def load() -> Any:
        from annotator.engine.concepts import load_concept_predictor
        from annotator.engine.concepts.catalogue import resolve_concept_checkpoint

        return load_concept_predictor(resolve_concept_checkpoint(None), device, dtype)

    return load


class _Latest:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.query: ConceptQuery | None = None


class ConceptWorker(QObject):
    """Lives in the concept thread; ``pump`` runs the latest query."""

    loading = Signal(str)
    answered = Signal(object)  # ConceptAnswer, with ``error`` set when the query failed

    def __init__(self, latest: _Latest, loader: ConceptLoader) -> None:
        super().__init__()
        self._latest = latest
        self._loader = loader
        self._predictor: Any = None
        self._key: str | None = None

    @Slot()
    def pump(self) -> None:
        with self._latest.lock:
            query, self._latest.query = self._latest.query, None
        if query is None:
            return  # coalesced into a run that already took it
        try:
            if self._predictor is None:
                self.loading.emit("Loading SAM 3")
                self._predictor = self._loader()
            encode = 0.0
            if self._key != query.image_key:
                self._key = None
                t0 = time.perf_counter()
                self._predictor.set_image(query.image)
                encode = time.perf_counter() - t0
                self._key = query.image_key
            t0 = time.perf_counter()
            found = self._predictor.find(
                query.phrase,
                exemplar_boxes=query.exemplar_boxes,
                negative_boxes=query.negative_boxes,
                threshold=query.threshold,
            )
            seconds = time.perf_counter() - t0
        except Exception as exc:  # reported to the user; the thread keeps serving
            log.warning("SAM 3 query failed", exc_info=exc)
            error = f"Find failed: {_describe(exc)}"
            self.answered.emit(ConceptAnswer(query.request_id, query.image_key, [], 0, 0, error))
            return
        instances = [(np.asarray(i.mask, bool), tuple(i.box), float(i.score)) for i in found]
        self.answered.emit(
            ConceptAnswer(query.request_id, query.image_key, instances, encode, seconds)
        )


class ConceptClient(QObject):
    """UI-thread front of the concept worker; never blocks."""

    loading = Signal(str)
    found = Signal(object)  # ConceptAnswer of the latest query only
    failed = Signal(str)
    _wake = Signal()

    def __init__(self, loader: ConceptLoader | None = None) -> None:
        super().__init__()
        self._latest = _Latest()
        self._loader = loader or engine_concept_loader()
        self._wanted: int | None = None
        self._thread: QThread | None = None
        self._worker: ConceptWorker | None = None

    def _start(self) -> None:
        self._thread = QThread()
        self._thread.setObjectName("annotator-concepts")
        self._worker = ConceptWorker(self._latest, self._loader)
        self._worker.moveToThread(self._thread)
        self._wake.connect(self._worker.pump)  # queued: the worker lives in the other thread
        self._worker.loading.connect(self.loading)
        self._worker.answered.connect(self._on_answer)
        self._thread.start()

    def find(self, query: ConceptQuery) -> None:
        if self._thread is None:
            self._start()
        with self._latest.lock:
            self._latest.query = query
        self._wanted = query.request_id
        self._wake.emit()

    def cancel(self) -> None:
        """No answer is wanted any more (Esc, another image)."""
        self._wanted = None
        with self._latest.lock:
            self._latest.query = None

    @property
    def waiting(self) -> bool:
        return self._wanted is not None

    def _on_answer(self, answer: ConceptAnswer) -> None:
        if answer.request_id == self._wanted:
            self._wanted = None
            if answer.error is None:
                self.found.emit(answer)
            else:
                self.failed.emit(answer.error)

    def shutdown(self, timeout_s: float = 30.0) -> None:
        """Stop the thread (after the query it is running, if any)."""
        self.cancel()
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait(int(timeout_s * 1000))
            self._thread = None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{text}" if text else type(exc).__name__
