"""Box tool (B): drag draws a box; its corner and edge handles adjust it.

The finished box is reported through ``set_box(box)`` with box = (x0, y0, x1, y1) XYXY in
original-image pixels, x0 <= x1 and y0 <= y1, clipped to the image. A click on a handle
followed by a drag moves that handle; a drag elsewhere draws a new box (the object's box is
replaced; points already placed stay and refine it together with the box).
"""

from __future__ import annotations

from collections.abc import Callable

from annotator.gui.tools.base import BaseTool, Button, PointerEvent

# Handle names: which box coordinates (indices into x0, y0, x1, y1) a handle moves.
HANDLES: dict[str, tuple[int, ...]] = {
    "tl": (0, 1),
    "tr": (2, 1),
    "bl": (0, 3),
    "br": (2, 3),
    "t": (1,),
    "b": (3,),
    "l": (0,),
    "r": (2,),
}

MIN_BOX = 2.0  # image pixels; smaller drags are treated as stray clicks


def handle_positions(box: tuple[float, float, float, float]) -> dict[str, tuple[float, float]]:
    """Handle name -> (x, y) image position for an XYXY box."""
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    return {
        "tl": (x0, y0),
        "tr": (x1, y0),
        "bl": (x0, y1),
        "br": (x1, y1),
        "t": (xm, y0),
        "b": (xm, y1),
        "l": (x0, ym),
        "r": (x1, ym),
    }


class BoxTool(BaseTool):
    name = "Box"
    hint = "Box (B): drag a box around the object; drag its handles to adjust"

    def __init__(
        self,
        set_box: Callable[[tuple[float, float, float, float]], None],
        image_size: tuple[int, int],
        get_box: Callable[[], tuple[float, float, float, float] | None],
    ) -> None:
        """image_size: (width, height). get_box returns the current committed-to-prompt box."""
        self._set_box = set_box
        self._get_box = get_box
        self.image_size = image_size
        self._anchor: tuple[float, float] | None = None
        self._handle: str | None = None
        self._start_box: tuple[float, float, float, float] | None = None
        #: the box being dragged (for drawing), XYXY, or None when idle
        self.preview: tuple[float, float, float, float] | None = None

    def _clip(self, x: float, y: float) -> tuple[float, float]:
        w, h = self.image_size
        return min(max(x, 0.0), float(w)), min(max(y, 0.0), float(h))

    def hit_handle(self, ev: PointerEvent) -> str | None:
        box = self._get_box()
        if box is None:
            return None
        best, best_d = None, ev.tolerance
        for name, (hx, hy) in handle_positions(box).items():
            d = max(abs(hx - ev.x), abs(hy - ev.y))
            if d <= best_d:
                best, best_d = name, d
        return best

    def press(self, ev: PointerEvent) -> None:
        if ev.button is not Button.LEFT:
            return
        self._handle = self.hit_handle(ev)
        if self._handle is not None:
            self._start_box = self._get_box()
            self.preview = self._start_box
        else:
            self._anchor = self._clip(ev.x, ev.y)
            self.preview = None

    def drag(self, ev: PointerEvent) -> None:
        x, y = self._clip(ev.x, ev.y)
        if self._handle is not None and self._start_box is not None:
            b = list(self._start_box)
            for i in HANDLES[self._handle]:
                b[i] = x if i in (0, 2) else y
            self.preview = _normalise(b)
        elif self._anchor is not None:
            ax, ay = self._anchor
            self.preview = _normalise([ax, ay, x, y])

    def release(self, ev: PointerEvent) -> None:
        if self._anchor is not None or self._handle is not None:
            self.drag(ev)
        box = self.preview
        self.cancel()
        if box is not None and box[2] - box[0] >= MIN_BOX and box[3] - box[1] >= MIN_BOX:
            self._set_box(box)

    def click(self, ev: PointerEvent) -> None:
        """A click is not a box: nothing happens (the point tool is one key away)."""
        self.cancel()

    def cancel(self) -> None:
        self._anchor = None
        self._handle = None
        self._start_box = None
        self.preview = None


def _normalise(b: list[float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = b
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
