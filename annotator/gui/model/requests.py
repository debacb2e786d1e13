"""Plain data passed between the window and the model worker (no Qt needed to build them).

Frames: every coordinate here is in original-image pixels, xy order, like
``Predictor.predict``. Low-res logits are the decoder's (1, 256, 256) / (C, 256, 256) float32
maps in the model's padded input frame, exactly what ``Predictor.predict`` returns and accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PromptSet:
    """Every prompt currently on the canvas for one object, decoded together.

    ``mask_input`` contract: the *app* owns "previous best". It passes the chosen candidate of the
    last applied result (``MaskResult.best_logits()`` or the candidate the user picked), or a
    brush-edited mask converted to logits, or None for the first prompt. The client never fills
    it in itself: only the app knows which candidate was chosen and whether the user edited it.
    """

    points: np.ndarray  # (N, 2) float32 xy, original-image pixels; N may be 0
    labels: np.ndarray  # (N,) int32, 1 = foreground, 0 = background
    box: np.ndarray | None = None  # (4,) float32 XYXY, original-image pixels
    mask_input: np.ndarray | None = None  # (1, 256, 256) float32 low-res logits
    multimask: bool = False  # True for the first ambiguous click (show candidates)

    def __post_init__(self) -> None:
        points = np.asarray(self.points, dtype=np.float32).reshape(-1, 2)
        labels = np.asarray(self.labels, dtype=np.int32).reshape(-1)
        if len(points) != len(labels):
            raise ValueError(f"{len(points)} points but {len(labels)} labels")
        if labels.size and not np.isin(labels, (0, 1)).all():
            raise ValueError(f"point labels must be 0 or 1, got {sorted(set(labels.tolist()))}")
        box = None if self.box is None else np.asarray(self.box, dtype=np.float32).reshape(4)
        mask_input = self.mask_input
        if mask_input is not None:
            mask_input = np.asarray(mask_input, dtype=np.float32)
            if mask_input.shape == (256, 256):
                mask_input = mask_input[None]
            if mask_input.shape != (1, 256, 256):
                raise ValueError(f"mask_input must be (1, 256, 256), got {mask_input.shape}")
        # frozen: normalise through object.__setattr__ so the worker gets canonical arrays
        object.__setattr__(self, "points", points)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "box", box)
        object.__setattr__(self, "mask_input", mask_input)

    @classmethod
    def empty(cls) -> PromptSet:
        return cls(np.zeros((0, 2), np.float32), np.zeros((0,), np.int32))

    def is_empty(self) -> bool:
        """True when there is nothing to decode (no point, no box, no mask input)."""
        return len(self.points) == 0 and self.box is None and self.mask_input is None


@dataclass(frozen=True)
class MaskResult:
    """Decoder output for one request. C == 0 means "no prompts": clear the current mask."""

    request_id: int
    image_key: str  # the key the image was opened with (its path as str)
    masks: np.ndarray  # (C, H, W) bool, original-image size
    scores: np.ndarray  # (C,) float32 predicted IoU
    low_res_logits: np.ndarray  # (C, 256, 256) float32; feed the chosen one back as mask_input
    decode_seconds: float
    prompts: PromptSet = field(default_factory=PromptSet.empty)  # what was decoded

    @property
    def best_index(self) -> int:
        """Index of the highest-scoring candidate (-1 when there is none)."""
        return int(np.argmax(self.scores)) if len(self.scores) else -1

    def best_logits(self, index: int | None = None) -> np.ndarray:
        """(1, 256, 256) float32 logits of candidate ``index`` (default: best) for mask_input."""
        i = self.best_index if index is None else index
        if i < 0:
            raise ValueError("this result has no candidates")
        return self.low_res_logits[i : i + 1].astype(np.float32, copy=True)


@dataclass(frozen=True)
class LoadedModel:
    """The model the worker has loaded (``ModelClient.modelLoaded``). Not the catalogue entry of
    a downloadable model: that is ``annotator.engine.weights.registry.ModelInfo``."""

    name: str  # e.g. "LiteMedSAM (bundled)" or the checkpoint file name
    model_type: str  # vit_h | vit_l | vit_b | vit_t | lite_medsam
    device: str  # in words: "CPU", "NVIDIA H100 (CUDA)", "AMD Instinct MI250 (ROCm)"
    prompt_hint: str  # "points_and_boxes" | "boxes"
    precision: str = ""  # e.g. "bf16 encoder (auto)", "fp32"
