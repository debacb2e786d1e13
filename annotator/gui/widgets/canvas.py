"""The image canvas: a pyqtgraph view that draws the image, masks and prompts.

It owns no annotation logic. Mouse events are translated into image-coordinate
:class:`~annotator.gui.tools.PointerEvent` values for the active tool; the window tells the
canvas what to draw. Wheel zooms around the cursor, middle-drag or Space+drag pans.
"""

from __future__ import annotations

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from annotator.gui.tools import Button, PointerEvent, Tool
from annotator.gui.tools.box_tool import handle_positions
from annotator.gui.widgets.overlays import outline_path, rgba_overlay

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)

HANDLE_PX = 7  # handle half-size on screen, in screen pixels
CURRENT_ALPHA = 120
COMMITTED_ALPHA = 115
SELECTED_ALPHA = 170

_BUTTONS = {
    Qt.MouseButton.LeftButton: Button.LEFT,
    Qt.MouseButton.RightButton: Button.RIGHT,
    Qt.MouseButton.MiddleButton: Button.MIDDLE,
}


class _ToolViewBox(pg.ViewBox):
    """ViewBox that pans with middle/Space+left drags and gives every other gesture to the tool."""

    def __init__(self, canvas: Canvas) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False)
        self._canvas = canvas
        self.setMouseMode(pg.ViewBox.PanMode)

    def mouseDragEvent(self, ev, axis=None):
        panning = ev.button() == Qt.MouseButton.MiddleButton or (
            self._canvas.space_held and ev.button() == Qt.MouseButton.LeftButton
        )
        if panning:
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        self._canvas.dispatch_drag(ev)

    def mouseClickEvent(self, ev):
        ev.accept()
        self._canvas.dispatch_click(ev)


def _pen(color: str, width: float, style=Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(QColor(color), width, style)
    pen.setCosmetic(True)  # the same width on screen at every zoom
    return pen


def _show_overlay(item: pg.ImageItem, overlay: tuple[np.ndarray, tuple[int, int]] | None) -> None:
    """Draw an RGBA crop at its place in the image (see overlays.rgba_overlay)."""
    if overlay is None:
        item.clear()
        return
    rgba, (x0, y0) = overlay
    item.setImage(rgba, autoLevels=False, levels=None)
    item.setRect(QRectF(x0, y0, rgba.shape[1], rgba.shape[0]))


class Canvas(pg.GraphicsView):
    #: (x, y) image coordinates under the cursor, or (-1, -1) when it left the image
    hovered = Signal(float, float)
    #: the active tool handled an event (the window refreshes what depends on it)
    toolEvent = Signal()
    #: Ctrl+click at (x, y) image coordinates: select the mask there
    selectAt = Signal(float, float)
    #: Ctrl+Shift+click: add the mask there to the selection, or take it out
    extendSelectAt = Signal(float, float)
    #: left double-click at (x, y) image coordinates (its first click went to the tool)
    doubleClicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="#202124")
        self.space_held = False
        self.tool: Tool | None = None
        self.vb = _ToolViewBox(self)
        self.setCentralItem(self.vb)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

        # uint8 RGB(A) with no levels goes straight into a QImage once; Qt scales it on paint
        # without smoothing, so pixels stay crisp at high zoom. (pyqtgraph's autoDownsample
        # or levels would re-process all 48 MP of an 8000 x 6000 image on every zoom.)
        self.image_item = pg.ImageItem()
        self.committed_item = pg.ImageItem()
        self.current_item = pg.ImageItem()
        self.committed_path = QGraphicsPathItem()
        self.hover_path = QGraphicsPathItem()
        self.selected_path = QGraphicsPathItem()
        self.current_path = QGraphicsPathItem()
        self.points_item = pg.ScatterPlotItem(size=11, pxMode=True)
        self.box_curve = pg.PlotCurveItem(pen=pg.mkPen("#ffd54f", width=2))
        self.box_handles = pg.ScatterPlotItem(
            size=2 * HANDLE_PX - 2, symbol="s", pen=pg.mkPen("#202124"), brush="#ffd54f"
        )
        self.poly_path = QGraphicsPathItem()
        self.poly_path.setPen(_pen("#ffd54f", 1.5))
        self.poly_vertices = pg.ScatterPlotItem(
            size=HANDLE_PX, symbol="s", pen=pg.mkPen("#202124"), brush="#ffd54f"
        )
        self.brush_cursor = QGraphicsPathItem()
        self.brush_cursor.setPen(_pen("#ffffff", 1.2, Qt.PenStyle.DashLine))
        for z, item in enumerate(
            [
                self.image_item,
                self.committed_item,
                self.committed_path,
                self.selected_path,
                self.hover_path,
                self.current_item,
                self.current_path,
                self.box_curve,
                self.box_handles,
                self.points_item,
                self.poly_path,
                self.poly_vertices,
                self.brush_cursor,
            ]
        ):
            item.setZValue(z)
            # Drawn only: a click on a prompt point or a handle must reach the tool (pyqtgraph's
            # scatter items would take the press and swallow the click).
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            self.vb.addItem(item)
        self.committed_path.setPen(_pen("#e8e8e8", 1.0))
        self.hover_path.setPen(_pen("#ffffff", 2.5))
        self.selected_path.setPen(_pen("#ffffff", 1.5, Qt.PenStyle.DashLine))
        self.shape: tuple[int, int] = (0, 0)  # (H, W)
        self._raw: np.ndarray | None = None  # the image as read; shown through the levels
        self.brightness, self.contrast = 0.0, 1.0
        self.opacity = 1.0  # mask fill opacity factor (View ▸ Mask opacity)
        self.outline_only = False  # committed masks as outlines, no fill
        self._box: tuple[float, float, float, float] | None = None
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- content ------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """image: (H, W, 3) uint8 RGB."""
        self.shape = image.shape[:2]
        self._raw = image
        self._show_image()
        for item in (self.committed_item, self.current_item):
            item.clear()
        for path in (self.committed_path, self.hover_path, self.selected_path, self.current_path):
            path.setPath(outline_path(None))
        self.set_prompts(np.zeros((0, 2)), np.zeros(0), None)
        self.fit()

    def _show_image(self) -> None:
        image = self._raw
        if image is None:
            return
        if self.brightness or self.contrast != 1.0:  # display only: the model sees the file
            image = cv2.convertScaleAbs(image, alpha=self.contrast, beta=self.brightness)
        self.image_item.setImage(image, autoLevels=False, levels=None)

    def set_levels(self, brightness: float | None = None, contrast: float | None = None) -> None:
        """Image brightness (grey levels added) and contrast (factor), for display only."""
        if brightness is not None:
            self.brightness = float(brightness)
        if contrast is not None:
            self.contrast = float(contrast)
        self._show_image()

    def set_mask_opacity(self, opacity: float) -> None:
        """0-1, scales the masks' fill (redrawn by the next set_committed / set_current)."""
        self.opacity = min(max(float(opacity), 0.0), 1.0)

    def _alpha(self, alpha: int) -> int:
        return round(alpha * self.opacity)

    def set_committed(self, layers: list[tuple[np.ndarray, str, bool, QPainterPath]]) -> None:
        """layers: (mask (H, W) bool, "#rrggbb", selected, its outline_path) for every visible
        annotation (outlines come from the caller's cache: tracing is the costly part)."""
        if not layers:
            self.committed_item.clear()
            self.committed_path.setPath(outline_path(None))
            self.selected_path.setPath(outline_path(None))
            return
        outlines = outline_path(None)
        for _, _, _, outline in layers:
            outlines.addPath(outline)
        self.committed_path.setPath(outlines)
        if self.outline_only:
            overlay = None
        else:
            overlay = rgba_overlay(
                self.shape,
                [
                    (m, c, self._alpha(SELECTED_ALPHA if sel else COMMITTED_ALPHA))
                    for m, c, sel, _ in layers
                ],
            )
        _show_overlay(self.committed_item, overlay)
        selected = outline_path(None)
        for _, _, sel, outline in layers:
            if sel:
                selected.addPath(outline)
        self.selected_path.setPath(selected)

    def set_current(self, mask: np.ndarray | None, color: str) -> None:
        """The object in progress: translucent fill in the category colour plus an outline."""
        if mask is None:
            self.current_item.clear()
            self.current_path.setPath(outline_path(None))
            return
        layer = (mask, color, self._alpha(CURRENT_ALPHA))
        _show_overlay(self.current_item, rgba_overlay(self.shape, [layer]))
        self.current_path.setPen(_pen(QColor(color).lighter(150).name(), 2.0))
        self.current_path.setPath(outline_path(mask))

    def set_hover(self, outline: QPainterPath | None) -> None:
        """outline: the hovered annotation's outline_path, or None."""
        self.hover_path.setPath(outline if outline is not None else outline_path(None))

    def set_prompts(
        self,
        points: np.ndarray,
        labels: np.ndarray,
        box: tuple[float, float, float, float] | None,
    ) -> None:
        """points (N, 2) xy image px, labels (N,) 1 = fg (green) 0 = bg (red), box XYXY or None."""
        brushes = [pg.mkBrush("#2ecc71" if lab else "#e74c3c") for lab in labels]
        self.points_item.setData(
            pos=np.asarray(points, float).reshape(-1, 2),
            brush=brushes,
            pen=pg.mkPen("#ffffff", width=1.5),
        )
        self._box = box
        self._draw_box(box)

    def _draw_box(self, box: tuple[float, float, float, float] | None) -> None:
        if box is None:
            self.box_curve.setData([], [])
            self.box_handles.setData([])
            return
        x0, y0, x1, y1 = box
        self.box_curve.setData([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0])
        self.box_handles.setData(pos=list(handle_positions(box).values()))

    def set_tool(self, tool: Tool | None) -> None:
        if self.tool is not None:
            self.tool.cancel()
        self.tool = tool
        self.brush_cursor.setPath(outline_path(None))
        self.refresh_tool()

    # -- view ---------------------------------------------------------------------------
    def fit(self) -> None:
        """F: the whole image in the window."""
        h, w = self.shape
        if h and w:
            self.vb.setRange(xRange=(0, w), yRange=(0, h), padding=0.02)

    def zoom(self, factor: float) -> None:
        """Zoom in (factor > 1) or out around the view's centre."""
        if self.shape[0]:
            self.vb.scaleBy((1.0 / factor, 1.0 / factor))

    def one_to_one(self) -> None:
        """One image pixel per screen pixel, centred where the view is now."""
        (x0, x1), (y0, y1) = self.vb.viewRange()
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rect = self.vb.sceneBoundingRect()
        dpr = self.devicePixelRatioF()
        hw, hh = rect.width() / 2 / dpr, rect.height() / 2 / dpr
        self.vb.setRange(xRange=(cx - hw, cx + hw), yRange=(cy - hh, cy + hh), padding=0)

    def image_to_view(self, x: float, y: float) -> QPoint:
        """Widget (viewport) position of image point (x, y); used by tests to click."""
        scene = self.image_item.mapToScene(QPointF(x, y))
        return self.mapFromScene(scene)

    def pixels_per_screen_pixel(self) -> float:
        return float(self.vb.viewPixelSize()[0])

    # -- events -------------------------------------------------------------------------
    def _event(self, scene_pos, button, modifiers) -> PointerEvent:
        p = self.image_item.mapFromScene(scene_pos)
        return PointerEvent(
            x=float(p.x()),
            y=float(p.y()),
            button=_BUTTONS.get(button, Button.NONE),
            shift=bool(modifiers & Qt.KeyboardModifier.ShiftModifier),
            tolerance=HANDLE_PX * self.pixels_per_screen_pixel(),
        )

    def dispatch_click(self, ev) -> None:
        if not self.shape[0]:
            return
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            p = self.image_item.mapFromScene(ev.scenePos())
            extend = bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            (self.extendSelectAt if extend else self.selectAt).emit(float(p.x()), float(p.y()))
            return
        if self.tool is None:
            return
        self.tool.click(self._event(ev.scenePos(), ev.button(), ev.modifiers()))
        self._after_tool()

    def dispatch_drag(self, ev) -> None:
        if self.tool is None or not self.shape[0]:
            return
        if ev.isStart():
            start = self._event(ev.buttonDownScenePos(), ev.button(), ev.modifiers())
            self.tool.press(start)
        pe = self._event(ev.scenePos(), ev.button(), ev.modifiers())
        if ev.isFinish():
            self.tool.release(pe)
        else:
            self.tool.drag(pe)
        self._after_tool()

    def _after_tool(self) -> None:
        preview = self.tool.preview if self.tool is not None else None
        self._draw_box(preview if preview is not None else self._box)
        self.refresh_tool()
        self.toolEvent.emit()

    def refresh_tool(self) -> None:
        """Draw the active tool's polygons and their vertices (the polygon tool's), if any."""
        rings = self.tool.outline if self.tool is not None else None
        path = QPainterPath()
        for ring in rings or ():
            path.addPolygon(QPolygonF([QPointF(float(x), float(y)) for x, y in ring]))
            path.closeSubpath()
        self.poly_path.setPath(path)
        pts = np.concatenate(rings) if rings else np.zeros((0, 2))
        self.poly_vertices.setData(pos=pts)

    def _on_mouse_moved(self, scene_pos) -> None:
        p = self.image_item.mapFromScene(scene_pos)
        h, w = self.shape
        inside = 0 <= p.x() < w and 0 <= p.y() < h
        radius = self.tool.radius if self.tool is not None else None
        if radius is not None and inside:
            path = QPainterPath()
            path.addEllipse(QPointF(p.x(), p.y()), radius, radius)
            self.brush_cursor.setPath(path)
        self.hovered.emit(float(p.x()), float(p.y())) if inside else self.hovered.emit(-1.0, -1.0)

    def mouseDoubleClickEvent(self, ev):
        """Qt delivers a double-click's second press here; pyqtgraph's scene would drop it."""
        if ev.button() != Qt.MouseButton.LeftButton or not self.shape[0]:
            super().mouseDoubleClickEvent(ev)
            return
        ev.accept()
        p = self.image_item.mapFromScene(self.mapToScene(ev.position().toPoint()))
        self.doubleClicked.emit(float(p.x()), float(p.y()))

    def keyPressEvent(self, ev):
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self.space_held = True
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            return
        super().keyPressEvent(ev)

    def keyReleaseEvent(self, ev):
        if ev.key() == Qt.Key.Key_Space and not ev.isAutoRepeat():
            self.space_held = False
            self.unsetCursor()
            return
        super().keyReleaseEvent(ev)
