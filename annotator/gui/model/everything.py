""" "Segment everything" in the model worker: the engine's AutomaticMaskGenerator on the current
image, reusing the embedding the worker already holds, with progress and a cancel flag.

The generator has no hooks of its own, so a subclass counts the point batches it decodes (one
``_process_batch`` call per ``points_per_batch`` points) to report progress and to stop between
batches when the user cancels: a running batch cannot be interrupted, the next one never starts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from annotator.engine.amg import (
    AmgOptions,
    AutomaticMaskGenerator,
    PointPromptWarning,
    point_prompt_warning,
)

# The app's grid: 32 x 32 points in one pass over the whole image (no crops), like the
# reference generator's defaults; crops would re-encode tiles and take minutes on a CPU.
APP_OPTIONS = AmgOptions(points_per_side=32, crop_n_layers=0)


class EverythingCancelled(Exception):
    """The user cancelled; raised between point batches."""


@dataclass(frozen=True)
class EverythingResult:
    """What the generator found on one image. masks (N, H, W) bool in original-image pixels,
    scores (N,) float32 predicted IoU, stability (N,) float32, sorted by area, largest first."""

    request_id: int
    image_key: str
    masks: np.ndarray
    scores: np.ndarray
    stability: np.ndarray
    seconds: float
    warning: str | None = None  # the model is box-only: the masks are likely poor


# (points done, points in all) -> None; raise EverythingCancelled to stop
Progress = Callable[[int, int], None]


class _CountingGenerator(AutomaticMaskGenerator):
    def __init__(self, predictor: Any, progress: Progress, options: AmgOptions) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PointPromptWarning)  # surfaced in the result
            super().__init__(predictor, **options.as_kwargs())  # type: ignore[arg-type]
        self._progress = progress
        self._done = 0
        self._total = sum(len(g) * (4**i) for i, g in enumerate(self.point_grids))

    def _process_batch(self, points: np.ndarray, *args: Any) -> None:
        self._progress(self._done, self._total)
        super()._process_batch(points, *args)
        self._done += len(points)


def generate_everything(
    predictor: Any,
    image: np.ndarray,
    progress: Progress,
    points_per_side: int = 32,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """Masks of everything in ``image`` ((H, W, 3) uint8 RGB, the image the predictor holds).

    Returns masks (N, H, W) bool, predicted IoU (N,) float32, stability (N,) float32 and the
    box-only-model warning (or None). Raises EverythingCancelled when ``progress`` does."""
    options = replace(APP_OPTIONS, points_per_side=points_per_side)
    gen = _CountingGenerator(predictor, progress, options)
    records = gen.generate(image, image_is_set=bool(getattr(predictor, "is_image_set", False)))
    progress(gen._total, gen._total)
    records.sort(key=lambda r: -int(r["area"]))
    h, w = image.shape[:2]
    masks = np.stack([np.asarray(r["segmentation"], bool) for r in records]) if records else None
    return (
        masks if masks is not None else np.zeros((0, h, w), bool),
        np.array([r["predicted_iou"] for r in records], np.float32),
        np.array([r["stability_score"] for r in records], np.float32),
        point_prompt_warning(predictor.model),
    )
