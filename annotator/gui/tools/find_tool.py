"""Find tool: while Find's candidates are on screen a click toggles the instance under it;
in exemplar mode (Shift+B) a drag draws an exemplar box (Shift+drag: a negative one)."""

from __future__ import annotations

from collections.abc import Callable

from annotator.gui.tools.base import BaseTool, Button, PointerEvent
from annotator.gui.tools.box_tool import BoxTool

Box = tuple[float, float, float, float]


class FindTool(BaseTool):
    name = "Find"
    hint = (
        "Find: click a candidate to keep or drop it, double-click to refine it with clicks; "
        "Enter accepts the kept ones, Esc discards"
    )
    exemplar_hint = (
        "Exemplar (Shift+B): drag a box around one instance (Shift+drag: one that is not); "
        "SAM 3 finds the others"
    )

    def __init__(
        self,
        toggle_at: Callable[[float, float], bool],
        add_exemplar: Callable[[Box, bool], None],
        image_size: tuple[int, int],
    ) -> None:
        self._toggle_at = toggle_at
        self._add_exemplar = add_exemplar
        self._negative = False
        self._box = BoxTool(self._finish_box, image_size, lambda: None)
        self.exemplar_mode = False

    @property
    def image_size(self) -> tuple[int, int]:  # type: ignore[override]
        return self._box.image_size

    @image_size.setter
    def image_size(self, size: tuple[int, int]) -> None:
        self._box.image_size = size

    @property
    def preview(self) -> Box | None:  # type: ignore[override]
        return self._box.preview

    def set_exemplar_mode(self, on: bool) -> None:
        self.exemplar_mode = on
        self.hint = self.exemplar_hint if on else FindTool.hint
        self.cancel()

    def _finish_box(self, box: Box) -> None:
        self._add_exemplar(box, not self._negative)

    def press(self, ev: PointerEvent) -> None:
        if self.exemplar_mode:
            self._negative = ev.shift
            self._box.press(ev)

    def drag(self, ev: PointerEvent) -> None:
        if self.exemplar_mode:
            self._box.drag(ev)

    def release(self, ev: PointerEvent) -> None:
        if self.exemplar_mode:
            self._box.release(ev)

    def click(self, ev: PointerEvent) -> None:
        self._box.cancel()
        if ev.button is Button.LEFT:
            self._toggle_at(ev.x, ev.y)

    def cancel(self) -> None:
        self._box.cancel()
