"""Point tool (C): left click adds a foreground point, right or Shift+click a background one."""

from __future__ import annotations

from collections.abc import Callable

from annotator.gui.tools.base import BaseTool, Button, PointerEvent


class PointTool(BaseTool):
    """Calls ``add_point(x, y, label)`` once per click; label 1 = foreground, 0 = background."""

    name = "Point"
    hint = "Point (C): left click = object, right click or Shift+click = background"

    def __init__(self, add_point: Callable[[float, float, int], None]) -> None:
        self._add_point = add_point

    def click(self, ev: PointerEvent) -> None:
        if ev.button is Button.RIGHT or (ev.button is Button.LEFT and ev.shift):
            self._add_point(ev.x, ev.y, 0)
        elif ev.button is Button.LEFT:
            self._add_point(ev.x, ev.y, 1)

    def press(self, ev: PointerEvent) -> None:
        """A press that turns into a drag adds nothing (a drag is not a click)."""
