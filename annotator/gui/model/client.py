"""ModelClient: the window's only handle on the model. Lives in the UI thread, never blocks.

Calls write the latest wish into the shared ``Mailbox`` and post a queued wake-up to the
``ModelWorker`` in its own QThread; results come back as queued signals and are filtered here.

The client is the one stale-result filter: ``maskReady`` carries only the result of the latest
``request_mask`` on the current image, and only while that request is still wanted. A newer
request, ``open_image``, ``cancel_mask`` (the window's edit, undo, Esc) or a worker error makes
every earlier request stale; ``awaiting_mask`` says whether a wanted result is still to come.
The window applies whatever ``maskReady`` brings and keeps no request ids of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer, Signal, Slot

from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.mailbox import DecodeJob, EverythingJob, LoadJob, Mailbox, OpenImage
from annotator.gui.model.requests import LoadedModel, MaskResult, PromptSet
from annotator.gui.model.worker import ModelWorker

log = logging.getLogger(__name__)

BUNDLED_NAME = "LiteMedSAM (bundled)"
# (checkpoint or None, model_type, device, dtype) -> Predictor-like
CheckpointLoader = Callable[[str | None, str, str], Any]


# Qt aborts the process when a running QThread is destroyed, so the model thread and its worker
# outlive a client that is garbage-collected without shutdown(), until they have stopped.
_LIVE: dict[QThread, ModelWorker] = {}
_BOXES: dict[QThread, Mailbox] = {}


@atexit.register
def _stop_all() -> None:
    for thread in list(_LIVE):
        _stop_worker(_BOXES[thread], thread, 30.0)


def _stop_worker(box: Mailbox, thread: QThread, timeout_s: float) -> bool:
    if not shiboken6.isValid(thread):  # at interpreter exit Qt may have deleted it already
        _LIVE.pop(thread, None)
        _BOXES.pop(thread, None)
        return True
    with box.lock:
        box.stopping = True
        box.prefetch.clear()
        box.pending = None
        box.cond.notify_all()
        background = box.background
    thread.quit()
    # always wait (at once True when never started or done): isRunning() is already False while
    # the thread is in finish deleting its workers, and freeing the client then crashed PySide
    stopped = thread.wait(int(timeout_s * 1000))
    if background is not None:
        stopped = background.stop(timeout_s) and stopped
    if stopped:
        _LIVE.pop(thread, None)
        _BOXES.pop(thread, None)
    else:
        log.warning("model thread still busy after %.0f s at shutdown", timeout_s)
    return stopped


def default_cache_dir() -> Path | None:
    """On-disk embedding cache: $ANNOTATOR_CACHE_DIR ("" disables) or the user cache dir."""
    env = os.environ.get("ANNOTATOR_CACHE_DIR")
    if env is not None:
        return Path(env) if env else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("annotator")) / "embeddings"


def engine_loader(
    checkpoint: str | None, model_type: str = "auto", device: str = "auto", dtype: str = "auto"
) -> Any:
    """Build a Predictor with the engine; runs in the worker thread."""
    from annotator.engine import Predictor, load_model
    from annotator.engine.onnx.decoder_cache import default_cache_dir as default_onnx_cache_dir

    model = load_model(checkpoint, model_type=model_type, device=device, dtype=dtype)
    predictor = Predictor(model)  # decoder from ANNOTATOR_DECODER, "auto" by default
    # ONNX Runtime's decoder graphs come from the disk cache, or a child process exports them
    # (exporting in this process held the GIL and stalled the window 1.6 s during the first
    # clicks); torch decodes until they are ready.
    predictor.prepare_decoder(default_onnx_cache_dir(), isolated=True, block=False)
    return predictor


def _read_image(path: str) -> np.ndarray:
    from annotator.io.images import read_image

    return read_image(path)


class ModelClient(QObject):
    """UI-thread front of the model worker. See docs/adr/0002-gui-model-worker.md.

    ``predictor_factory`` (no arguments -> Predictor-like) replaces the bundled model at
    ``start()``; ``loader`` replaces ``engine_loader`` for ``load_model()``; ``cache`` defaults
    to 1 GiB in memory plus ``default_cache_dir()`` on disk, memory only when a
    ``predictor_factory`` is injected (an injected fake must not fill the user's cache);
    ``image_reader`` (path -> (H, W, 3) uint8) is what prefetch reads files with;
    ``background_prefetch`` (default on) pre-encodes beside the worker, see prefetcher.py.
    """

    modelLoading = Signal(str)  # "Loading sam_vit_b_01ec64.pth…"
    modelLoaded = Signal(object)  # LoadedModel
    encodingStarted = Signal(str)  # image_key (current image only)
    imageReady = Signal(str, float)  # image_key, encode seconds (0.0 when from cache)
    maskReady = Signal(object)  # MaskResult: latest request on the current image only
    errorOccurred = Signal(str)  # message for the user; the worker keeps working
    imagePrefetched = Signal(str)  # image_key pre-encoded (or already cached) in the background
    idle = Signal()  # the worker finished its queue (loads, encodes, decodes, prefetch)
    everythingProgress = Signal(int, int)  # points done, points in all (current request only)
    everythingReady = Signal(object)  # EverythingResult of the latest request, current image

    _wake = Signal()

    def __init__(
        self,
        predictor_factory: Callable[[], Any] | None = None,
        parent: QObject | None = None,
        *,
        loader: CheckpointLoader | None = None,
        cache: EmbeddingCache | None = None,
        image_reader: Callable[[str], np.ndarray] | None = None,
        background_prefetch: bool | Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = predictor_factory
        self._loader = loader or engine_loader
        if cache is None:
            disk = None if predictor_factory is not None else default_cache_dir()
            cache = EmbeddingCache(disk_dir=disk)
        self._box = Mailbox()
        self._next_id = 0
        self._generation = 0
        self._current_key: str | None = None
        self._current_shape: tuple[int, int] | None = None
        self._accept_id: int | None = None  # the only request whose result is delivered
        self._everything: EverythingJob | None = None  # the segment-everything run wanted
        self._model_info: LoadedModel | None = None
        self._stopped = False
        self._shut_down = False

        self._thread = QThread()
        self._thread.setObjectName("annotator-model")
        self._worker = ModelWorker(
            self._box, cache, image_reader or _read_image, background_prefetch
        )
        self._worker.moveToThread(self._thread)
        self._thread.finished.connect(self._worker.deleteLater)
        self._wake.connect(self._worker.pump)
        w = self._worker
        w.modelLoading.connect(self.modelLoading)
        w.modelLoaded.connect(self._on_model_loaded)
        w.encodingStarted.connect(self._on_encoding_started)
        w.imageReady.connect(self._on_image_ready)
        w.maskReady.connect(self._on_mask_ready)
        w.imagePrefetched.connect(self.imagePrefetched)
        w.errorOccurred.connect(self._on_error)
        w.idle.connect(self.idle)
        w.everythingProgress.connect(self._on_everything_progress)
        w.everythingReady.connect(self._on_everything_ready)
        _LIVE[self._thread] = self._worker
        _BOXES[self._thread] = self._box
        box, thread = self._box, self._thread
        # not self.destroyed: PySide crashes calling Python from a dying wrapper's destructor
        weakref.finalize(self, _stop_worker, box, thread, 30.0)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # -- commands -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the model thread and load the default model (or the injected one) there."""
        if self._shut_down:
            raise RuntimeError("this ModelClient was shut down; make a new one")
        if self._thread.isRunning():
            return
        self._thread.start()
        if self._factory is not None:
            name = getattr(self._factory, "display_name", None) or "custom model"
            self._post_load(LoadJob(name, self._factory))
        else:
            self.load_model(None)

    def load_model(
        self,
        checkpoint: str | None,
        model_type: str = "auto",
        device: str = "auto",
        dtype: str = "auto",
    ) -> None:
        """Load a checkpoint in the worker (None = bundled LiteMedSAM); modelLoading, then
        modelLoaded or errorOccurred (the previous model stays). The open image re-encodes."""
        name = Path(checkpoint).name if checkpoint else BUNDLED_NAME
        loader = self._loader
        self._post_load(LoadJob(name, lambda: loader(checkpoint, model_type, device, dtype)))

    def open_image(self, image_key: str, image: np.ndarray) -> None:
        """Make ``image`` ((H, W, 3) uint8 RGB, not modified afterwards) the current image.

        Cancels the previous image's pending decode; encodes in the worker (or restores from
        the cache): encodingStarted (when it must encode), then imageReady."""
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3):
            raise TypeError(f"open_image({image_key!r}) needs an (H, W[, C]) numpy array")
        self._generation += 1
        self._current_key = image_key
        self._current_shape = (int(image.shape[0]), int(image.shape[1]))
        self._accept_id = None
        self.cancel_everything()
        with self._box.lock:
            self._box.current = OpenImage(image_key, image, self._generation)
            self._box.pending = None
        self._wake.emit()

    def request_mask(self, prompts: PromptSet) -> int:
        """Decode ``prompts`` on the current image; returns the request id.

        Waits in the worker until the image is encoded. A newer request replaces one not yet
        started (only the latest prompt set is decoded) and makes older results stale. An empty
        prompt set is answered, asynchronously, with an empty MaskResult (C == 0): clear."""
        if self._current_key is None or self._current_shape is None:
            raise RuntimeError("request_mask() before open_image()")
        self._next_id += 1
        rid = self._accept_id = self._next_id
        if prompts.is_empty():
            with self._box.lock:
                self._box.pending = None
            h, w = self._current_shape
            empty = MaskResult(
                request_id=rid,
                image_key=self._current_key,
                masks=np.zeros((0, h, w), bool),
                scores=np.zeros((0,), np.float32),
                low_res_logits=np.zeros((0, 256, 256), np.float32),
                decode_seconds=0.0,
                prompts=prompts,
            )
            QTimer.singleShot(0, self, lambda: self._on_mask_ready(empty))
            return rid
        with self._box.lock:
            self._box.pending = DecodeJob(rid, self._generation, prompts)
        self._wake.emit()
        return rid

    def cancel_mask(self) -> None:
        """Nobody wants the mask of the last request any more (the user edited the mask, undid,
        pressed Esc): its result is dropped and a decode not yet started is skipped."""
        self._accept_id = None
        with self._box.lock:
            self._box.pending = None

    def request_everything(self, points_per_side: int = 32) -> int:
        """Segment everything on the current image (after any pending decode), reusing its
        embedding; everythingProgress while it runs, then everythingReady. Replaces (cancels)
        a run already wanted; returns the request id."""
        if self._current_key is None:
            raise RuntimeError("request_everything() before open_image()")
        self.cancel_everything()
        self._next_id += 1
        job = EverythingJob(self._next_id, self._generation, points_per_side)
        self._everything = job
        with self._box.lock:
            self._box.everything = job
        self._wake.emit()
        return job.request_id

    def cancel_everything(self) -> None:
        """Stop the segment-everything run: it ends at its next point batch, nothing arrives."""
        job, self._everything = self._everything, None
        if job is not None:
            job.cancel.set()
            with self._box.lock:
                if self._box.everything is job:
                    self._box.everything = None

    @property
    def everything_running(self) -> bool:
        return self._everything is not None

    @property
    def awaiting_mask(self) -> bool:
        """True from ``request_mask`` until its result is delivered, or it is made stale (by
        ``cancel_mask``, ``open_image`` or a worker error)."""
        return self._accept_id is not None

    def prefetch(self, items: list[tuple[str, str]]) -> None:
        """Pre-encode these (image_key, path) when idle, in order; replaces the previous list."""
        with self._box.lock:
            self._box.prefetch = [(str(k), str(p)) for k, p in items]
            self._box.cond.notify_all()
        self._wake.emit()

    def is_busy(self) -> bool:
        """True while a checkpoint load, the current image's encode or a decode is under way
        or waiting (background prefetch does not count)."""
        b = self._box
        with b.lock:
            unready = (
                b.current is not None
                and b.ready_generation != b.current.generation
                and b.failed_generation != b.current.generation
            )
            pending = b.pending is not None or b.everything is not None
            return b.working or b.load is not None or pending or unready

    def sequence_client(self) -> Any:
        """The propagation front (sequence_client.py) on this client's model thread and model;
        one per client."""
        if getattr(self, "_sequence", None) is None:
            from annotator.gui.model.sequence_client import SequenceClient

            worker = self._worker
            self._sequence = SequenceClient(self._thread, lambda: worker.model, parent=self)
        return self._sequence

    @property
    def model_info(self) -> LoadedModel | None:
        return self._model_info

    @property
    def current_key(self) -> str | None:
        return self._current_key

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        """Stop the model thread (from closeEvent). A running forward pass cannot be
        interrupted, so this waits for it, at most ``timeout_s``; returns True if stopped."""
        self._shut_down = True
        if not self._stopped:
            self._stopped = _stop_worker(self._box, self._thread, timeout_s)
        return self._stopped

    # -- worker results (queued into the UI thread) --------------------------------------------
    def _post_load(self, job: LoadJob) -> None:
        with self._box.lock:
            self._box.load = job
        self._wake.emit()

    @Slot(object)
    def _on_model_loaded(self, info: LoadedModel) -> None:
        self._model_info = info
        self.modelLoaded.emit(info)

    @Slot(str, int)
    def _on_encoding_started(self, key: str, generation: int) -> None:
        if generation == self._generation:
            self.encodingStarted.emit(key)

    @Slot(str, int, float)
    def _on_image_ready(self, key: str, generation: int, seconds: float) -> None:
        if generation == self._generation:
            self.imageReady.emit(key, seconds)

    @Slot(object)
    def _on_mask_ready(self, result: MaskResult) -> None:
        if result.request_id == self._accept_id and result.image_key == self._current_key:
            self._accept_id = None
            self.maskReady.emit(result)

    @Slot(int, int, int)
    def _on_everything_progress(self, request_id: int, done: int, total: int) -> None:
        if self._everything is not None and request_id == self._everything.request_id:
            self.everythingProgress.emit(done, total)

    @Slot(object)
    def _on_everything_ready(self, result) -> None:
        job = self._everything
        if job is not None and result.request_id == job.request_id:
            self._everything = None
            if result.image_key == self._current_key:
                self.everythingReady.emit(result)

    @Slot(str)
    def _on_error(self, message: str) -> None:
        # whatever failed, a result still in flight is no longer shown (the window's old rule)
        self._accept_id = None
        self._everything = None
        self.errorOccurred.emit(message)
