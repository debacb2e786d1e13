"""Turn masks into things pyqtgraph can draw: RGBA overlays and outline paths (no widgets)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from PySide6.QtGui import QColor, QPainterPath


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = QColor(color)
    return c.red(), c.green(), c.blue()


def mask_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) half-open pixel bounds of the True pixels, or None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def rgba_overlay(
    shape: tuple[int, int], layers: Iterable[tuple[np.ndarray, str, int]]
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Composite (mask (H, W) bool, "#rrggbb", alpha 0-255) layers, later on top.

    Returns (rgba, (x0, y0)): an (h, w, 4) uint8 RGBA crop covering only the masks' bounding
    box and its top-left corner in image pixels, or None when every mask is empty. Cropping
    keeps a small object on an 8000 x 6000 image cheap to draw after every decode.
    """
    layers = list(layers)
    boxes = [b for b in (mask_box(m) for m, _, _ in layers) if b is not None]
    if not boxes:
        return None
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    # One uint32 per RGBA pixel written with copyto(where=): 1.0 ms for two masks on a
    # 1280x720 frame against 19.4 ms for out[mask] = (r, g, b, a) on an (h, w, 4) array.
    out = np.zeros((y1 - y0, x1 - x0), np.uint32)
    for mask, color, alpha in layers:
        rgba = np.frombuffer(bytes((*hex_to_rgb(color), alpha)), np.uint32)[0]
        np.copyto(out, rgba, where=mask[y0:y1, x0:x1])
    return out.view(np.uint8).reshape(y1 - y0, x1 - x0, 4), (x0, y0)


def outline_path(mask: np.ndarray) -> QPainterPath:
    """Outline of an (H, W) bool mask as a path in image coordinates (pixel edges)."""
    path = QPainterPath()
    box = None if mask is None else mask_box(mask)
    if box is None:
        return path
    x0, y0, x1, y1 = box
    crop = np.ascontiguousarray(mask[y0:y1, x0:x1]).view(np.uint8)
    # Contours of the mask upsampled x2 trace pixel *edges* rather than pixel centres, so the
    # outline hugs the filled pixels at high zoom; halve the coordinates afterwards.
    up = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(up, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in contours:
        pts = (c[:, 0, :].astype(np.float64) + 0.5) / 2.0 + (x0, y0)
        path.moveTo(*pts[0])
        for x, y in pts[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
    return path


class OutlineCache:
    """Outline paths of committed annotations, kept while their RLE object is unchanged
    (tracing is the costly part of drawing; hover and redraws reuse them)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[object, QPainterPath]] = {}

    def outline(self, ann_id: int, rle: object, mask: np.ndarray) -> QPainterPath:
        """Outline of annotation `ann_id` whose RLE is `rle` and (H, W) bool mask `mask`."""
        hit = self._cache.get(ann_id)
        if hit is None or hit[0] is not rle:
            hit = (rle, outline_path(mask))
            self._cache[ann_id] = hit
        return hit[1]

    def clear(self) -> None:
        self._cache.clear()
