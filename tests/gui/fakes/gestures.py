"""Real Qt mouse gestures on the window's canvas, in image coordinates."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication


def view_pos(win, x, y) -> QPoint:
    return win.canvas.image_to_view(x, y)


def click(qtbot, win, x, y, button=Qt.MouseButton.LeftButton, mods=Qt.KeyboardModifier.NoModifier):
    qtbot.mouseClick(win.canvas.viewport(), button, mods, view_pos(win, x, y))


def drag(qtbot, win, p0, p1):
    vp = win.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, *p0))
    for t in (0.25, 0.5, 0.75, 1.0):
        x = p0[0] + t * (p1[0] - p0[0])
        y = p0[1] + t * (p1[1] - p0[1])
        time.sleep(0.012)  # pyqtgraph drops moves closer than 1/100 s apart
        qtbot.mouseMove(vp, view_pos(win, x, y))
        QApplication.processEvents()
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_pos(win, *p1))


def wait_result(qtbot, win):
    """Until the model's answer for the current prompts is on screen."""
    session = win.session
    qtbot.waitUntil(
        lambda: not session.editor.decoding and session.prompts.current_mask is not None
    )


def double_click(qtbot, win, x, y):
    """A double-click as a real mouse delivers it: a click, then Qt's double-click press and
    its release (QTest's own mouseDClick sends no event the canvas sees)."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    click(qtbot, win, x, y)
    vp = win.canvas.viewport()
    pos = QPointF(view_pos(win, x, y))
    left = Qt.MouseButton.LeftButton
    for kind, buttons in (
        (QEvent.Type.MouseButtonDblClick, left),
        (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
    ):
        event = QMouseEvent(
            kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), left, buttons,
            Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        QApplication.sendEvent(vp, event)
    QApplication.processEvents()
