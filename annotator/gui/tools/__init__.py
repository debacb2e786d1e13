"""Annotation tools: plain state machines fed by pointer events in image coordinates.

The canvas translates pyqtgraph mouse events into :class:`PointerEvent` and calls the active
tool; tools never touch Qt, so they are tested without rendering.
"""

from annotator.gui.tools.base import BaseTool, Button, PointerEvent, Tool
from annotator.gui.tools.box_tool import BoxTool
from annotator.gui.tools.brush_tool import BrushTool
from annotator.gui.tools.point_tool import PointTool
from annotator.gui.tools.polygon_tool import PolygonTool

__all__ = [
    "BaseTool",
    "BoxTool",
    "BrushTool",
    "Button",
    "PointTool",
    "PointerEvent",
    "PolygonTool",
    "Tool",
]
