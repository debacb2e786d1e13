"""Per-frame image features kept within a byte budget, least recently used dropped first.

Meta's video predictor keeps one frame's features (and every frame's pixels, ~12 MiB a frame
at 1024); here pixels are not kept and features are, up to the budget, so that prompting
again on a recent frame does not re-run the image encoder.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from annotator.engine.modeling.sam2.tracking import FrameFeatures

DEFAULT_BUDGET_BYTES = 256 * 2**20  # ~16 frames of Hiera features at 1024 in float32


class FeatureCache:
    """frame index -> FrameFeatures; ``budget_bytes`` bounds the total (one entry always fits)."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        if budget_bytes < 0:
            raise ValueError(f"feature budget must be >= 0 bytes, got {budget_bytes}")
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[int, FrameFeatures] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, index: int) -> bool:
        return index in self._items

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, index: int, compute: Callable[[int], FrameFeatures]) -> FrameFeatures:
        if index in self._items:
            self._items.move_to_end(index)
            return self._items[index]
        feats = compute(index)
        self._items[index] = feats
        self._bytes += feats.nbytes
        while self._bytes > self.budget_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes
        return feats

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0
