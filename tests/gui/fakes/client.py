"""A stand-in for ModelClient: same signals, answers in the event loop with synthetic masks.

The masks are a deterministic function of the prompts (`synthetic_masks`), so a test can
recompute "the predictor's mask for the same prompts" from what the project file recorded.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from annotator.gui.model.everything import EverythingResult
from annotator.gui.model.requests import LoadedModel, MaskResult
from tests.gui.fakes.masks import answer, synthetic_masks

__all__ = ["FakeClient", "synthetic_masks"]


class FakeClient(QObject):
    modelLoading = Signal(str)
    modelLoaded = Signal(object)
    encodingStarted = Signal(str)
    imageReady = Signal(str, float)
    maskReady = Signal(object)
    errorOccurred = Signal(str)
    everythingProgress = Signal(int, int)
    everythingReady = Signal(object)

    def __init__(
        self, delay_ms: int = 5, prompt_hint: str = "points_and_boxes", refines: bool = False
    ) -> None:
        """refines: answer from the request's mask_input too (a mask that clicks refine)."""
        super().__init__()
        self.refines = refines
        self.delay_ms = delay_ms
        self.prompt_hint = prompt_hint
        self.key: str | None = None
        self.shape: tuple[int, int] | None = None
        self.requests: list = []
        self.decoded: list = []
        self.fail_next = False
        self._next = 0
        self._everything: int | None = None
        self._accept: int | None = None  # like ModelClient: only the latest result is delivered
        self.shut_down = False

    def start(self) -> None:
        info = LoadedModel("fake", "vit_t", "cpu", self.prompt_hint)
        QTimer.singleShot(0, lambda: self.modelLoaded.emit(info))

    def load_model(self, checkpoint, model_type="auto", device="auto", dtype="auto") -> None:
        """Like the engine on a CPU-only machine: device "cuda" fails, the old model stays."""
        self.modelLoading.emit(f"Loading {checkpoint}…")
        if device == "cuda":
            message = f"Could not load {checkpoint}: device 'cuda' is not available here"
            QTimer.singleShot(0, lambda: self.errorOccurred.emit(message))
            return
        precision = {"bfloat16": "bf16", "float32": "fp32"}.get(dtype, "fp32 (auto)")
        info = LoadedModel("fake", "vit_t", "CPU", self.prompt_hint, precision)
        QTimer.singleShot(0, lambda: self.modelLoaded.emit(info))

    def open_image(self, key: str, image: np.ndarray) -> None:
        self.key, self.shape = key, image.shape[:2]
        self._accept = None
        self.encodingStarted.emit(key)
        QTimer.singleShot(self.delay_ms, lambda: self.imageReady.emit(key, 0.01))

    def request_mask(self, prompts) -> int:
        self._next += 1
        self._accept = rid = self._next
        self.requests.append(prompts)
        key = self.key
        QTimer.singleShot(self.delay_ms, lambda: self._answer(rid, key, prompts))
        return rid

    def _answer(self, rid: int, key: str, prompts) -> None:
        if rid != self._accept or key != self.key:
            return  # coalesced: only the latest request is decoded
        self._accept = None
        if self.fail_next:
            self.fail_next = False
            self.errorOccurred.emit("decode failed: out of memory (simulated)")
            return
        mask_input = prompts.mask_input if self.refines else None
        masks, scores, low = answer(
            self.shape, prompts.points, prompts.labels, prompts.box, prompts.multimask, mask_input
        )
        self.decoded.append(prompts)
        self.maskReady.emit(MaskResult(rid, key, masks, scores, low, 0.002, prompts))

    def request_everything(self, points_per_side: int = 32) -> int:
        """Like the worker: progress, then three disjoint rectangles as proposals (an
        ``everything_masks`` list set by a test replaces them)."""
        self._next += 1
        rid = self._everything = self._next
        key = self.key
        self.everythingProgress.emit(0, 4)
        QTimer.singleShot(self.delay_ms, lambda: self._everything_answer(rid, key))
        return rid

    def _everything_answer(self, rid: int, key: str) -> None:
        if rid != self._everything or key != self.key:
            return  # cancelled, or another image
        self._everything = None
        h, w = self.shape
        masks = getattr(self, "everything_masks", None)
        if masks is None:
            masks = np.zeros((3, h, w), bool)
            for i in range(3):
                masks[i, 10 + 60 * i : 50 + 60 * i, 20:80] = True
        masks = np.asarray(masks, bool)
        n = len(masks)
        self.everythingProgress.emit(4, 4)
        warning = "box prompts" if self.prompt_hint == "boxes" else None
        scores = np.linspace(0.95, 0.9, n).astype(np.float32)
        self.everythingReady.emit(
            EverythingResult(rid, key, masks, scores, scores.copy(), 0.01, warning)
        )

    def cancel_everything(self) -> None:
        self._everything = None

    @property
    def everything_running(self) -> bool:
        return self._everything is not None

    def cancel_mask(self) -> None:
        self._accept = None

    @property
    def awaiting_mask(self) -> bool:
        return self._accept is not None

    def prefetch(self, items) -> None:
        self.prefetched = items

    def is_busy(self) -> bool:
        return False

    def shutdown(self, timeout_s: float = 30.0) -> bool:
        self.shut_down = True
        return True
