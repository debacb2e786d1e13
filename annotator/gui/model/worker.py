"""ModelWorker: the one QObject that owns the model and the Predictor, living in a QThread.

The UI never calls it directly. ``ModelClient`` writes what it *wants* into a shared
``Mailbox`` (latest prompt set, current image, pending checkpoint load, prefetch list) and posts
a queued ``pump``; the worker reads the mailbox afresh before every unit of work. So a burst of
50 prompt changes is one decode of the last one (coalescing), an image switch cancels the old
image's pending decode, and foreground work is looked at between prefetch items.

Priority of one ``pump``: load a checkpoint > make the current image ready (cache hit or encode)
> decode the latest prompt set > pre-encode one prefetch item (fallback path only).

Prefetch normally runs *beside* the worker (``prefetcher.py``: its own thread and a second
Predictor on the same weights; a low-priority CUDA stream on a GPU while the worker's stream has
high priority, a niced thread on a CPU). torch cannot preempt a running forward pass, so this
is what keeps a background encode from delaying a foreground decode or image switch. If no
second Predictor can be built (or ``background=False``), the worker pre-encodes between its
foreground units and a request arriving mid-prefetch waits for at most that one encode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from annotator.engine.devices import device_name
from annotator.engine.embedding_cache import EmbeddingCache, image_content_hash
from annotator.engine.image_state import ImageState
from annotator.gui.model.everything import (
    EverythingCancelled,
    EverythingResult,
    generate_everything,
)
from annotator.gui.model.mailbox import DecodeJob, EverythingJob, LoadJob, Mailbox, OpenImage
from annotator.gui.model.prefetcher import BackgroundPrefetcher, cuda_stream, on_stream
from annotator.gui.model.requests import LoadedModel, MaskResult

log = logging.getLogger(__name__)

# worker's predictor -> a second Predictor on the same model, for the background prefetcher
BackgroundFactory = Callable[[Any], Any]


def same_model_predictor(predictor: Any) -> Any:
    return type(predictor)(predictor.model)


def model_id_of(predictor: Any) -> str:
    """The loaded network's ``model.model_id``: the one model identity, which keys the
    embedding cache and which ``Predictor.set_image_state`` checks."""
    model_id = getattr(getattr(predictor, "model", None), "model_id", None)
    if not isinstance(model_id, str) or not model_id:
        raise TypeError(f"{type(predictor).__name__}.model has no model_id to key its embeddings")
    return model_id


class ModelWorker(QObject):
    """Lives in the model thread; every slot runs there. Signals reach the UI queued."""

    modelLoading = Signal(str)
    modelLoaded = Signal(object)  # LoadedModel
    encodingStarted = Signal(str, int)  # image_key, generation
    imageReady = Signal(str, int, float)  # image_key, generation, encode seconds (0.0 = cache)
    maskReady = Signal(object)  # MaskResult
    imagePrefetched = Signal(str)  # image_key now in the cache
    everythingProgress = Signal(int, int, int)  # request id, points done, points in all
    everythingReady = Signal(object)  # EverythingResult
    errorOccurred = Signal(str)
    idle = Signal()  # nothing left to do (after the last unit of a burst)

    def __init__(
        self,
        mailbox: Mailbox,
        cache: EmbeddingCache,
        image_reader: Callable[[str], np.ndarray],
        background: bool | BackgroundFactory | None = None,
    ) -> None:
        """``background``: None / True = prefetch beside the worker (default), False = in the
        worker between foreground units; a callable (worker's predictor -> a second Predictor
        on the same model) replaces ``type(p)(p.model)``."""
        super().__init__()
        self._box = mailbox
        self._background = background
        self._cache = cache
        self._read_image = image_reader
        self._predictor: Any = None
        self._model_id = ""
        self._holding: str | None = None  # content hash whose state the predictor holds
        self._current_hash: tuple[int, str] | None = None  # (generation, hash)
        self._was_working = False
        self._fg_stream: Any = None  # high-priority CUDA stream while a prefetcher runs beside

    @property
    def model(self) -> Any:
        """The loaded network (None before the first load). Only for code of the model thread:
        the sequence worker propagates with it between this worker's units."""
        return getattr(self._predictor, "model", None)

    @Slot()
    def pump(self) -> None:
        """Do one unit of work, then re-post itself if more is waiting."""
        box = self._box
        with box.lock:
            if box.stopping:
                return
        try:
            did_work = self._step()
        except Exception:  # _step reports its own errors; this guards the event loop itself
            log.exception("model worker step failed")
            did_work = True
        with box.lock:
            box.working = False
            if box.stopping:
                return
        if did_work:
            QTimer.singleShot(0, self.pump)
        elif self._was_working:
            self.idle.emit()
        self._was_working = did_work

    # -- scheduling ---------------------------------------------------------------------------
    def _step(self) -> bool:
        box = self._box
        with box.lock:
            load, box.load = box.load, None
            current = box.current
            if load is not None:
                box.working = True
        if load is not None:
            self._load(load)
            return True
        if self._predictor is None:
            return False
        with box.lock:
            if current is not None and current.generation == box.failed_generation:
                box.pending = None  # its encode failed and was reported; nothing to decode on
                current = None
            needs_ready = current is not None and box.ready_generation != current.generation
            job = None
            if current is not None and not needs_ready:
                job, box.pending = box.pending, None
                if job is not None and job.generation != current.generation:
                    job = None  # for an image that is no longer open
            everything = None
            if current is not None and not needs_ready and job is None:
                everything, box.everything = box.everything, None
                if everything is not None and everything.generation != current.generation:
                    everything = None
            box.working = needs_ready or job is not None or everything is not None
        if needs_ready:
            with on_stream(self._fg_stream):
                self._make_ready(current)
            return True
        if job is not None:
            with on_stream(self._fg_stream):
                self._decode(current, job)
            return True
        if everything is not None:
            with on_stream(self._fg_stream):
                self._everything(current, everything)
            return True
        with box.lock:
            serial = box.background is None
            item = box.prefetch.pop(0) if serial and box.prefetch else None
        if item is not None:
            self._prefetch(*item)
            return True
        return False

    # -- units --------------------------------------------------------------------------------
    def _load(self, job: LoadJob) -> None:
        self.modelLoading.emit(f"Loading {job.name}…")
        try:
            predictor = job.load()
            model = getattr(predictor, "model", None)
            info = LoadedModel(
                name=job.name,
                model_type=str(getattr(model, "model_type", "unknown")),
                device=device_name(predictor.device),
                prompt_hint=str(getattr(model, "prompt_hint", "points_and_boxes")),
                precision=getattr(getattr(model, "precision", None), "label", ""),
            )
            model_id = model_id_of(predictor)
        except Exception as exc:
            keep = " The previous model stays loaded." if self._predictor is not None else ""
            self._report(f"Could not load {job.name}: {_describe(exc)}.{keep}", exc)
            return
        self._stop_background()
        self._predictor, self._model_id, self._holding = predictor, model_id, None
        self._cache.retain_model(model_id)
        self._start_background()
        with self._box.lock:
            # every open image must be re-encoded by the new network
            self._box.ready_generation = -1
            self._box.failed_generation = -1
        self.modelLoaded.emit(info)

    def _make_ready(self, current: OpenImage) -> None:
        try:
            content_hash = self._hash_of(current)
            self._cache.pin(self._model_id, content_hash)
            state = self._cache.get(self._model_id, content_hash)
            if state is not None:
                self._restore(content_hash, state)
                seconds = 0.0
            else:
                self.encodingStarted.emit(current.key, current.generation)
                seconds = self._encode(content_hash, current.image)
        except Exception as exc:
            with self._box.lock:
                self._box.failed_generation = current.generation
                if self._box.pending and self._box.pending.generation == current.generation:
                    self._box.pending = None
            self._report(f"Could not encode {current.key}: {_describe(exc)}", exc)
            return
        with self._box.lock:
            self._box.ready_generation = current.generation
        self.imageReady.emit(current.key, current.generation, seconds)

    def _decode(self, current: OpenImage, job: DecodeJob) -> None:
        try:
            self._hold(current)
            p = job.prompts
            t0 = time.perf_counter()
            masks, scores, low_res = self._predictor.predict(
                point_coords=p.points if len(p.points) else None,
                point_labels=p.labels if len(p.labels) else None,
                box=p.box,
                mask_input=p.mask_input,
                multimask_output=p.multimask,
            )
            seconds = time.perf_counter() - t0
        except Exception as exc:
            self._report(f"Could not predict a mask on {current.key}: {_describe(exc)}", exc)
            return
        self.maskReady.emit(
            MaskResult(
                request_id=job.request_id,
                image_key=current.key,
                masks=np.asarray(masks, dtype=bool),
                scores=np.asarray(scores, dtype=np.float32),
                low_res_logits=np.asarray(low_res, dtype=np.float32),
                decode_seconds=seconds,
                prompts=p,
            )
        )

    def _everything(self, current: OpenImage, job: EverythingJob) -> None:
        def progress(done: int, total: int) -> None:
            if job.cancel.is_set():
                raise EverythingCancelled
            self.everythingProgress.emit(job.request_id, done, total)

        try:
            self._hold(current)  # the generator reuses the embedding clicks use
            t0 = time.perf_counter()
            masks, scores, stability, warning = generate_everything(
                self._predictor, current.image, progress, job.points_per_side
            )
            seconds = time.perf_counter() - t0
        except EverythingCancelled:
            return  # the client already forgot the request
        except Exception as exc:
            self._report(f"Could not segment everything on {current.key}: {_describe(exc)}", exc)
            return
        self.everythingReady.emit(
            EverythingResult(
                job.request_id, current.key, masks, scores, stability, seconds, warning
            )
        )

    def _prefetch(self, key: str, path: str) -> None:
        try:
            image = self._read_image(path)
            content_hash = image_content_hash(image)
            if not self._cache.contains(self._model_id, content_hash):
                self._encode(content_hash, image)
        except Exception as exc:
            # not the user's action: they get the error if and when they open the image
            log.warning("prefetch of %s failed: %s", path, _describe(exc))
            if _is_oom(exc):
                self._free_memory()
            return
        self.imagePrefetched.emit(key)

    # -- helpers ------------------------------------------------------------------------------
    def _start_background(self) -> None:
        want = self._background
        if want is None:
            want = True
        if want is False:
            return
        factory = want if callable(want) else same_model_predictor
        try:
            bg = BackgroundPrefetcher(
                self._box,
                factory(self._predictor),
                self._cache,
                self._model_id,
                self._read_image,
                self.imagePrefetched.emit,
            )
        except Exception:  # prefetch then simply runs in the worker, between foreground units
            log.warning("no background prefetcher; prefetching in the worker", exc_info=True)
            return
        self._fg_stream = cuda_stream(self._predictor.device, priority=-1)
        with self._box.lock:
            self._box.background = bg
        bg.start()

    def _stop_background(self) -> None:
        with self._box.lock:
            bg, self._box.background = self._box.background, None
        if bg is not None:
            bg.stop()
        self._fg_stream = None

    def _hold(self, current: OpenImage) -> None:
        """Make the predictor hold the current image's embedding (a prefetch may replace it)."""
        content_hash = self._hash_of(current)
        if self._holding != content_hash:
            state = self._cache.get(self._model_id, content_hash)
            if state is None:
                self._encode(content_hash, current.image)
            else:
                self._restore(content_hash, state)

    def _hash_of(self, current: OpenImage) -> str:
        if self._current_hash is None or self._current_hash[0] != current.generation:
            self._current_hash = (current.generation, image_content_hash(current.image))
        return self._current_hash[1]

    def _encode(self, content_hash: str, image: np.ndarray) -> float:
        self._holding = None
        t0 = time.perf_counter()
        self._predictor.set_image(image)
        seconds = time.perf_counter() - t0
        self._holding = content_hash
        self._cache.put(self._model_id, content_hash, self._predictor.get_image_state())
        return seconds

    def _restore(self, content_hash: str, state: ImageState) -> None:
        self._holding = None
        self._predictor.set_image_state(state.to(self._predictor.device))
        self._holding = content_hash

    def _report(self, message: str, exc: BaseException) -> None:
        log.warning("%s", message, exc_info=exc)
        if _is_oom(exc):
            self._free_memory()
        self.errorOccurred.emit(message)

    def _free_memory(self) -> None:
        self._cache.clear_memory()
        self._holding = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # freeing is best effort; the error itself is already reported
            log.debug("could not empty the CUDA cache", exc_info=True)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "out of memory" in str(exc).lower()


def _describe(exc: BaseException) -> str:
    if _is_oom(exc):
        return (
            "out of memory. Close other programs, choose a smaller model, or switch the device "
            f"({type(exc).__name__}: {exc})"
        )
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
