"""Polygon tool (P): edit the current mask as polygons with vertices.

The mask is traced into one outer ring per part and the rings of its holes (OpenCV contours
simplified at ``tolerance`` pixels, ``io.formats.polygons`` in its pixel-edge frame, the one
pycocotools rasterises). Drag a vertex to move it, click on an edge to insert one there,
right-click (or Shift+click) a vertex to delete it. Every finished change rasterises the rings
back into a mask (each part filled, its holes cut out, parts unioned) and hands it to
``commit_edit(mask)``: the mask stays a mask (RLE when saved), so holes and several parts keep
working, and each drag or delete is one undo step. While a vertex is dragged only the
polygons move (``outline``, redrawn on every move); the fill follows on release, because
rasterising and recolouring the mask on every move costs ~4x the outline's redraw
(benchmarks/polygon_drag.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from annotator.gui.tools.base import BaseTool, Button, PointerEvent
from annotator.io.formats.polygons import DEFAULT_TOLERANCE, mask_to_polygons, polygons_to_mask

MIN_VERTICES = 3


@dataclass
class Ring:
    """points: (N, 2) float64 xy in the pixel-edge frame; part: the outer ring's index; hole:
    this ring cuts a hole into part `part`."""

    points: np.ndarray
    part: int
    hole: bool


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Distance from point p to segment ab, and the nearest point on it."""
    ab = b - a
    denom = float(ab @ ab)
    t = 0.0 if denom == 0 else float(np.clip((p - a) @ ab / denom, 0.0, 1.0))
    q = a + t * ab
    return float(np.hypot(*(p - q))), q


class PolygonTool(BaseTool):
    name = "Polygon"
    hint = (
        "Polygon (P): drag a vertex; click an edge to add one; right-click a vertex to delete "
        "it; [ ] coarser / finer vertices"
    )

    def __init__(
        self,
        get_mask: Callable[[], np.ndarray | None],
        commit_edit: Callable[[np.ndarray], None],
        image_size: tuple[int, int],
        tolerance: float = DEFAULT_TOLERANCE,
    ) -> None:
        self._get_mask = get_mask
        self._commit = commit_edit
        self.image_size = image_size
        self._tolerance = tolerance
        self._rings: list[Ring] = []
        self._traced: np.ndarray | None = None  # the mask the rings were traced from / made
        self._drag: tuple[int, int] | None = None  # (ring, vertex) being dragged

    # -- what the canvas draws ----------------------------------------------------------------
    @property
    def tolerance(self) -> float:
        return self._tolerance

    @tolerance.setter
    def tolerance(self, value: float) -> None:
        """Vertices are traced again at the new tolerance (px, >= 0)."""
        self._tolerance = max(0.0, float(value))
        self._traced = None

    @property
    def rings(self) -> list[Ring]:
        """The rings of the current mask (traced again whenever the mask changed)."""
        self._sync()
        return self._rings

    @property
    def outline(self) -> list[np.ndarray]:
        """(N, 2) xy vertex arrays to draw, one per ring."""
        return [r.points for r in self.rings]

    # -- tracing and rasterising --------------------------------------------------------------
    def _sync(self) -> None:
        if self._drag is not None:
            return
        mask = self._get_mask()
        if mask is None or not mask.any():
            self._rings, self._traced = [], None
            return
        if self._traced is not None and (
            mask is self._traced or np.array_equal(mask, self._traced)
        ):
            return
        polys = mask_to_polygons(mask, self._tolerance)
        rings = [Ring(o, i, False) for i, o in enumerate(polys.outers)]
        for i, holes in enumerate(polys.holes):
            rings += [Ring(h, i, True) for h in holes]
        self._rings, self._traced = rings, mask

    def rasterise(self) -> np.ndarray:
        """The (H, W) bool mask of the rings: each part minus its holes, parts unioned."""
        w, h = self.image_size
        out = np.zeros((h, w), bool)
        for part in {r.part for r in self._rings}:
            outer = [r.points for r in self._rings if r.part == part and not r.hole]
            holes = [r.points for r in self._rings if r.part == part and r.hole]
            if not outer:
                continue
            fill = polygons_to_mask(outer, h, w)
            if holes:
                fill &= ~polygons_to_mask(holes, h, w)
            out |= fill
        return out

    def _finish(self) -> None:
        mask = self.rasterise()
        self._traced = mask  # the rings stay as the user left them (not traced again)
        self._commit(mask)

    # -- hit tests ------------------------------------------------------------------------------
    def vertex_at(self, ev: PointerEvent) -> tuple[int, int] | None:
        p = np.array([ev.x, ev.y])
        best, best_d = None, ev.tolerance
        for i, ring in enumerate(self.rings):
            d = np.hypot(*(ring.points - p).T)
            j = int(np.argmin(d))
            if d[j] <= best_d:
                best, best_d = (i, j), float(d[j])
        return best

    def edge_at(self, ev: PointerEvent) -> tuple[int, int, np.ndarray] | None:
        """(ring, index to insert at, the point on the edge) within the tolerance, or None."""
        p = np.array([ev.x, ev.y])
        best, best_d = None, ev.tolerance
        for i, ring in enumerate(self.rings):
            pts = ring.points
            for j in range(len(pts)):
                d, q = _segment_distance(p, pts[j], pts[(j + 1) % len(pts)])
                if d <= best_d:
                    best, best_d = (i, j + 1, q), d
        return best

    # -- gestures -------------------------------------------------------------------------------
    def press(self, ev: PointerEvent) -> None:
        if ev.button is Button.LEFT:
            self._drag = self.vertex_at(ev)

    def drag(self, ev: PointerEvent) -> None:
        if self._drag is None:
            return
        i, j = self._drag
        w, h = self.image_size
        self._rings[i].points[j] = (min(max(ev.x, 0.0), w), min(max(ev.y, 0.0), h))

    def release(self, ev: PointerEvent) -> None:
        if self._drag is None:
            return
        self.drag(ev)
        self._drag = None
        self._finish()

    def click(self, ev: PointerEvent) -> None:
        if ev.button is Button.RIGHT or (ev.button is Button.LEFT and ev.shift):
            hit = self.vertex_at(ev)
            if hit is not None and len(self._rings[hit[0]].points) > MIN_VERTICES:
                ring = self._rings[hit[0]]
                ring.points = np.delete(ring.points, hit[1], axis=0)
                self._finish()
            return
        if ev.button is Button.LEFT and self.vertex_at(ev) is None:
            hit = self.edge_at(ev)
            if hit is not None:  # a new vertex on the edge: the mask does not change yet
                i, j, q = hit
                self._rings[i].points = np.insert(self._rings[i].points, j, q, axis=0)

    def cancel(self) -> None:
        if self._drag is not None:
            self._drag = None
            self._traced = None  # the half-dragged vertex is dropped: trace again
