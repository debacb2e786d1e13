"""Background pre-encoding beside the model worker.

A running forward pass cannot be preempted, so a prefetch encode done by the model worker itself
would delay a decode or an image switch that arrives meanwhile (by a whole encode: seconds on a
CPU). The prefetcher instead runs in its own thread with its own Predictor on the *same* weights:
- on a GPU its kernels go to a low-priority CUDA stream while the worker decodes on a
  high-priority one, so the GPU schedules decode kernels first: background encoding never
  delays a foreground decode;
- on a CPU the thread (and the torch/OpenMP threads it starts) is niced by 10, so the UI and the
  foreground worker get the cores first; a decode meanwhile shares the CPU instead of waiting
  for the encode to finish (measured in benchmarks/gui_latency.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from annotator.engine.embedding_cache import EmbeddingCache, image_content_hash
from annotator.gui.model.mailbox import Mailbox

log = logging.getLogger(__name__)


def is_cuda(device: Any) -> bool:
    return str(device).startswith("cuda")


def cuda_stream(device: Any, priority: int) -> Any:
    """A new CUDA stream of ``priority`` (lower = more urgent) on ``device``; None off CUDA."""
    if not is_cuda(device):
        return None
    import torch

    return torch.cuda.Stream(device=device, priority=priority)


def on_stream(stream: Any) -> contextlib.AbstractContextManager[Any]:
    """Issue the block's kernels on ``stream`` (no-op for None)."""
    if stream is None:
        return contextlib.nullcontext()
    import torch

    return torch.cuda.stream(stream)


def lower_thread_priority(niceness: int = 10) -> None:
    """Make the calling thread (and the torch/OpenMP threads it starts, which inherit it) yield
    the CPU to the UI and the foreground worker. Linux per-thread nice; best effort elsewhere."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except (AttributeError, OSError):  # no per-thread priorities here: just run at normal
        log.debug("could not lower the prefetch thread's priority", exc_info=True)


class BackgroundPrefetcher:
    """Takes (image_key, path) items from ``mailbox.prefetch`` and caches their embeddings.

    ``predictor`` must be a second Predictor on the worker's model (never the worker's own: its
    image state would be overwritten). ``on_prefetched(image_key)`` is called from this thread
    (a Qt signal emit is fine). Stops when ``stop()`` is called or ``mailbox.stopping`` is set.
    """

    def __init__(
        self,
        mailbox: Mailbox,
        predictor: Any,
        cache: EmbeddingCache,
        model_id: str,
        image_reader: Callable[[str], np.ndarray],
        on_prefetched: Callable[[str], None],
    ) -> None:
        self._box = mailbox
        self._predictor = predictor
        self._cache = cache
        self._model_id = model_id
        self._read = image_reader
        self._on_prefetched = on_prefetched
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="annotator-prefetch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Ask the thread to finish (after its current encode) and wait; True if it did."""
        with self._box.cond:
            self._stop = True
            self._box.cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _next(self) -> tuple[str, str] | None:
        with self._box.cond:
            while not (self._stop or self._box.stopping or self._box.prefetch):
                self._box.cond.wait()
            if self._stop or self._box.stopping:
                return None
            return self._box.prefetch.pop(0)

    def _run(self) -> None:
        if not is_cuda(self._predictor.device):
            lower_thread_priority()
        # priority 0 is CUDA's lowest; the worker's foreground stream uses -1
        stream = cuda_stream(self._predictor.device, priority=0)
        with on_stream(stream):
            while (item := self._next()) is not None:
                key, path = item
                try:
                    image = self._read(path)
                    content_hash = image_content_hash(image)
                    if not self._cache.contains(self._model_id, content_hash):
                        self._predictor.set_image(image)
                        state = self._predictor.get_image_state()
                        if stream is not None:
                            # the foreground uses the state on its own stream: finish it first
                            stream.synchronize()
                        self._cache.put(self._model_id, content_hash, state)
                        self._predictor.reset_image()
                except Exception as exc:  # not the user's action: they see it if they open it
                    log.warning("background prefetch of %s failed: %s", path, exc)
                    continue
                with self._box.lock:
                    # under the lock: shutdown sets ``stopping`` (under it) before the worker,
                    # whose signal this emits, can be deleted
                    if self._stop or self._box.stopping:
                        return
                    self._on_prefetched(key)
