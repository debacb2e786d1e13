"""Canvas navigation: fit, 1:1, middle-drag and Space+drag pan without prompting, wheel zoom."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from annotator.gui.tools import PointTool
from annotator.gui.widgets.canvas import Canvas


@pytest.fixture
def canvas(qtbot):
    c = Canvas()
    qtbot.addWidget(c)
    c.resize(500, 400)
    c.show()
    qtbot.waitExposed(c)
    c.set_image(np.zeros((300, 400, 3), np.uint8))
    added = []
    c.set_tool(PointTool(lambda x, y, label: added.append((x, y, label))))
    return c, added


def test_fit_and_one_to_one(canvas):
    c, _ = canvas
    c.one_to_one()
    assert c.pixels_per_screen_pixel() == pytest.approx(1.0, rel=0.02)
    c.fit()
    (x0, x1), (y0, y1) = c.vb.viewRange()
    assert x0 <= 0 and x1 >= 400 and y0 <= 0 and y1 >= 300


def drag_view(qtbot, c, button, p0, p1):
    vp = c.viewport()
    qtbot.mousePress(vp, button, pos=p0)
    for t in (0.3, 0.6, 1.0):
        time.sleep(0.02)  # pyqtgraph drops moves closer than 1/100 s apart
        x, y = p0.x() + t * (p1.x() - p0.x()), p0.y() + t * (p1.y() - p0.y())
        qtbot.mouseMove(vp, QPoint(int(x), int(y)))
        QApplication.processEvents()
    qtbot.mouseRelease(vp, button, pos=p1)


def test_middle_drag_and_space_drag_pan_without_prompts(qtbot, canvas):
    c, added = canvas
    before = c.vb.viewRange()[0][0]
    drag_view(qtbot, c, Qt.MouseButton.MiddleButton, QPoint(250, 200), QPoint(150, 200))
    after = c.vb.viewRange()[0][0]
    assert after > before + 20  # dragged left: the view moved right over the image
    qtbot.keyPress(c, Qt.Key.Key_Space)
    drag_view(qtbot, c, Qt.MouseButton.LeftButton, QPoint(250, 200), QPoint(350, 200))
    qtbot.keyRelease(c, Qt.Key.Key_Space)
    assert c.vb.viewRange()[0][0] < after - 20
    assert added == []  # panning never prompts


def test_wheel_zooms_around_the_cursor(qtbot, canvas):
    c, _ = canvas
    pos = c.image_to_view(100, 80)
    size_before = c.pixels_per_screen_pixel()
    ev = QWheelEvent(
        QPointF(pos), QPointF(c.viewport().mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 240),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(c.viewport(), ev)
    assert c.pixels_per_screen_pixel() < size_before * 0.8  # zoomed in
    here = c.image_to_view(100, 80)
    assert abs(here.x() - pos.x()) <= 2 and abs(here.y() - pos.y()) <= 2  # cursor point fixed
