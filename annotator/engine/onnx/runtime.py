"""The predictor's prompt + decoder path in ONNX Runtime, built from the loaded torch weights.

:func:`onnx_decoder` returns one :class:`OnnxDecoder` per model (cached while the model lives).
Its two sessions (clicks/boxes on the cached image side of the decoder, and prompts with a
mask input) are exported from the torch modules on first use, in a background thread unless
``wait`` is asked for; until they are ready, or when ``onnx``/``onnxruntime`` are missing or the
export fails, :meth:`OnnxDecoder.decode` returns None and the predictor runs torch.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import torch

from annotator.engine.modeling.sam import Sam

from .race import DecoderRace
from .wrappers import CACHE_INPUTS

MODES = ("auto", "onnx", "torch")
"""Predictor ``decoder`` modes: "auto" (once ONNX Runtime's session for a CPU float32 model is
built in the background, the faster of it and torch, timed on the first clicks; torch until
then and elsewhere), "onnx" (build it now, at the first predict; torch only where it cannot
run), "torch". ``ANNOTATOR_DECODER`` sets the default."""

_DECODERS: weakref.WeakKeyDictionary[Sam, OnnxDecoder] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()
_log = logging.getLogger(__name__)
_EXPORT_LOCK = threading.Lock()  # torch's ONNX exporter keeps global state: one at a time


def default_mode() -> str:
    mode = os.environ.get("ANNOTATOR_DECODER", "auto").strip().lower() or "auto"
    return mode if mode in MODES else "auto"


@functools.cache
def onnxruntime_available() -> bool:
    """Whether onnx and onnxruntime are installed (looked up, not imported: importing onnx
    holds the GIL for about a second, and the app's model thread asks this at load)."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


def eligible(model: Sam) -> bool:
    """ONNX Runtime runs the decoder of float32 SAM 1-family models on the CPU (GPUs, and
    SAM 2.1 until its decoder is exported, keep torch)."""
    if not isinstance(model, Sam):
        return False
    w = model.mask_decoder.iou_token.weight
    return w.device.type == "cpu" and w.dtype == torch.float32 and model.dtype == torch.float32


def onnx_decoder(model: Sam) -> OnnxDecoder | None:
    """The model's cached :class:`OnnxDecoder`, or None where ONNX Runtime cannot run it."""
    if not eligible(model) or not onnxruntime_available():
        return None
    with _LOCK:
        dec = _DECODERS.get(model)
        if dec is None or dec.model_id != model.model_id:
            dec = _DECODERS[model] = OnnxDecoder(model)
        return dec


def _session(model_bytes: bytes):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.intra_op_num_threads = max(1, torch.get_num_threads())
    opts.inter_op_num_threads = 1
    # No spin-waiting between runs: spinning ORT threads starve torch's threads (image cache,
    # postprocessing, encodes in the app's prefetcher) on small CPUs; measured in the app's
    # worker, click p50 272 ms spinning vs 90 ms not (torch: 118 ms).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


class OnnxDecoder:
    """Two ONNX Runtime sessions of one model's prompt encoder + mask decoder."""

    def __init__(self, model: Sam) -> None:
        self._model = weakref.ref(model)
        self.model_id = model.model_id
        self._sessions: dict[bool, Any] = {}  # with_mask -> InferenceSession
        self._threads: dict[bool, threading.Thread] = {}
        self._failed: str | None = None
        self._lock = threading.Lock()
        self._cache_dir: Path | None = None  # where graphs are read from and written to
        self._child: Any = None  # the export process (subprocess.Popen) while it runs
        self.race = DecoderRace()  # torch or ONNX Runtime, for "auto" predictors of the model

    def prepare(
        self, cache_dir: Path | None = None, isolated: bool = False, block: bool = True
    ) -> bool:
        """Build both sessions ahead of the clicks.

        Graphs come from ``cache_dir`` (see :mod:`.decoder_cache`) when cached there, else are
        exported and cached: with ``isolated`` by a child process (this process's threads keep
        the GIL; the export holds it for seconds), else on this thread. ``block=False`` returns
        at once while the child exports: until it is done :meth:`decode` returns None (torch
        runs), then the sessions are built from the cache. True when both sessions are ready.
        """
        from .decoder_cache import all_cached, start_export_child

        model = self._model()
        if model is None or self._failed is not None:
            return False
        self._cache_dir = cache_dir
        if isolated and cache_dir is not None and not all_cached(model, cache_dir):
            child = start_export_child(model, cache_dir)
            if child is not None:
                self._child = child
                weakref.finalize(self, _stop_child, child)
                if not block:
                    return False
        return all(self.session(m, wait=True) is not None for m in (False, True))

    def _child_done(self, wait: bool) -> bool:
        """False while the export child still runs (and ``wait`` is False); once it has
        exited, True, with ``failed`` set if it left no graphs for these weights."""
        child = self._child
        if child is None:
            return True
        if not wait and child.poll() is None:
            return False
        child.wait()
        self._child = None
        from .decoder_cache import all_cached

        model = self._model()
        if model is not None and self._cache_dir and not all_cached(model, self._cache_dir):
            self._failed = f"the ONNX export process exited with status {child.returncode}"
            _log.warning("ONNX Runtime decoder unavailable, using torch (%s)", self._failed)
        return True

    @property
    def failed(self) -> str | None:
        """Why the sessions could not be built, or None."""
        return self._failed

    def _build(self, with_mask: bool) -> None:
        model = self._model()
        if model is None:
            return
        try:
            session = _session(self._graph(model, with_mask))
        except Exception as exc:  # any export or load failure means: stay on torch
            self._failed = f"{type(exc).__name__}: {exc}"
            _log.warning("ONNX Runtime decoder unavailable, using torch (%s)", self._failed)
            return
        self._sessions[with_mask] = session

    def _graph(self, model: Sam, with_mask: bool) -> bytes:
        """The serialised graph: from the disk cache, else exported (and cached)."""
        from .decoder_cache import graph_key, read_graph, write_graph
        from .export import prompt_decoder_bytes

        key = graph_key(model, with_mask) if self._cache_dir is not None else ""
        data = read_graph(self._cache_dir, key) if key else None
        if data is None:
            with _EXPORT_LOCK, torch.inference_mode(False):
                data = prompt_decoder_bytes(model, with_mask=with_mask)
            if key:
                write_graph(self._cache_dir, key, data)
        return data

    def session(self, with_mask: bool, wait: bool):
        """The session, building it (now with ``wait``, else in the background) if needed."""
        if self._failed is not None:
            return None
        session = self._sessions.get(with_mask)
        if session is not None:
            return session
        if not self._child_done(wait) or self._failed is not None:
            return None
        if wait:  # build here, on the caller's thread (once, whoever asks first)
            with self._lock:
                thread = self._threads.get(with_mask)
                if thread is None:
                    self._build(with_mask)
                    return self._sessions.get(with_mask)
            thread.join()
            return self._sessions.get(with_mask)
        with self._lock:
            if with_mask not in self._threads and with_mask not in self._sessions:
                thread = threading.Thread(
                    target=self._build, args=(with_mask,), name="onnx-decoder-export", daemon=True
                )
                self._threads[with_mask] = thread
                thread.start()
        return self._sessions.get(with_mask)

    @property
    def click_session_built(self) -> bool:
        """Whether the session for prompts without a mask exists (starts nothing)."""
        return self._failed is None and False in self._sessions

    def ready(self, coords: Any, boxes: Any, masks: Any) -> bool:
        """Whether :meth:`decode` would run these prompts now, without waiting (asking starts
        the session's build in the background)."""
        if coords is None and boxes is None:
            return False
        return self.session(masks is not None, wait=False) is not None

    def decode(
        self,
        coords: torch.Tensor | None,
        labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
        features: torch.Tensor,
        cache: dict[str, torch.Tensor] | None,
        wait: bool,
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """All four low-res logits (B, 4, 256, 256) and scores (B, 4), float32 CPU tensors,
        for prompts in model-input pixels (as the torch prompt encoder takes them); None when
        the session is not (yet) available. ``cache``: the decoder's image cache (no masks)."""
        if coords is None and boxes is None:
            return None  # a mask prompt alone (no sparse tokens): torch
        session = self.session(masks is not None, wait)
        if session is None:
            return None
        pc, pl = _points(coords, labels, boxes)
        feeds: dict[str, np.ndarray] = {"point_coords": pc, "point_labels": pl}
        if masks is None:
            assert cache is not None
            if "onnx_feeds" not in cache:  # once per image: contiguous float32 copies
                cache["onnx_feeds"] = {k: _f32(cache[k]) for k in CACHE_INPUTS}
            feeds.update(cache["onnx_feeds"])
        else:
            feeds["mask_input"] = _f32(masks)
            feeds["image_embeddings"] = _f32(features)
        low_res, scores = session.run(None, feeds)
        return torch.from_numpy(low_res), torch.from_numpy(scores)


def _stop_child(child: Any) -> None:
    """End an export process that outlives its decoder (the model was dropped, or exit)."""
    if child.poll() is None:
        child.kill()
        child.wait()


def _f32(t: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())


def _points(coords, labels, boxes) -> tuple[np.ndarray, np.ndarray]:
    """Points and box corners as one (B, N, 2) coordinate and (B, N) label array, as the prompt
    encoder lays them out: points, then corners (labels 2, 3); a padding point (label -1)
    when there is no box."""
    parts_c, parts_l = [], []
    if coords is not None:
        parts_c.append(_f32(coords))
        parts_l.append(labels.detach().cpu().numpy().astype(np.float32))
    if boxes is not None:
        b = _f32(boxes).reshape(-1, 2, 2)
        parts_c.append(b)
        parts_l.append(np.broadcast_to(np.array([2.0, 3.0], np.float32), (b.shape[0], 2)))
    elif coords is not None:
        n = parts_c[0].shape[0]
        parts_c.append(np.zeros((n, 1, 2), np.float32))
        parts_l.append(np.full((n, 1), -1.0, np.float32))
    return (
        np.ascontiguousarray(np.concatenate(parts_c, axis=1)),
        np.ascontiguousarray(np.concatenate(parts_l, axis=1)),
    )
