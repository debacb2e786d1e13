"""Decoded masks of committed annotations, kept while their RLE is unchanged.

Hover hit tests and redraws would otherwise decode every RLE on every mouse move.
"""

from __future__ import annotations

import numpy as np

from annotator.io.document import Annotation


class DecodedMasks:
    def __init__(self) -> None:
        self._cache: dict[int, tuple[object, np.ndarray]] = {}

    def mask(self, ann: Annotation) -> np.ndarray:
        """(H, W) bool mask of `ann`, decoded once per RLE object."""
        hit = self._cache.get(ann.id)
        if hit is None or hit[0] is not ann.rle:
            hit = (ann.rle, ann.mask)
            self._cache[ann.id] = hit
        return hit[1]

    def seed(self, ann_id: int, rle: object, mask: np.ndarray) -> None:
        """Annotation `ann_id`'s RLE object `rle` is (H, W) bool `mask` (one the model made and
        encoded): drawing it decodes nothing. Used while ``ann.rle`` is still `rle`."""
        self._cache[ann_id] = (rle, mask)

    def clear(self) -> None:
        """Forget everything (a new project reuses annotation ids)."""
        self._cache.clear()
