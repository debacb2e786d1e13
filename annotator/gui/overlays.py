"""Turn masks into things pyqtgraph can draw: RGBA overlays and outline paths (no widgets)."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from PySide6.QtGui import QColor, QPainterPath


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    c = QColor(color)
    return c.red(), c.green(), c.blue()


def rgba_overlay(
    shape: tuple[int, int], layers: Iterable[tuple[np.ndarray, str, int]]
) -> np.ndarray:
    """Composite (mask (H, W) bool, "#rrggbb", alpha 0-255) layers, later on top.

    Returns (H, W, 4) uint8 RGBA, transparent where no mask lies.
    """
    out = np.zeros((*shape, 4), np.uint8)
    for mask, color, alpha in layers:
        r, g, b = hex_to_rgb(color)
        out[mask] = (r, g, b, alpha)
    return out


def outline_path(mask: np.ndarray) -> QPainterPath:
    """Outline of an (H, W) bool mask as a path in image coordinates (pixel edges)."""
    path = QPainterPath()
    if mask is None or not mask.any():
        return path
    # Contours of the mask upsampled x2 trace pixel *edges* rather than pixel centres, so the
    # outline hugs the filled pixels at high zoom; halve the coordinates afterwards.
    up = cv2.resize(mask.view(np.uint8), None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(up, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    for c in contours:
        pts = (c[:, 0, :].astype(np.float64) + 0.5) / 2.0
        path.moveTo(*pts[0])
        for x, y in pts[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
    return path
