"""Issue 15 bugs 3 and 4: a stray eraser stroke with no object in progress does not steer the
next object, and Enter hands a brush or eraser back to the prompt tool that started it."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.fakes.gestures import click, drag, wait_result


def test_a_stray_eraser_stroke_does_not_become_the_next_objects_mask_input(qtbot, make_window):
    win, client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    qtbot.keyClick(win.canvas, Qt.Key.Key_E)
    drag(qtbot, win, (20, 250), (60, 280))  # on empty background
    assert win.session.prompts.is_empty
    assert "Nothing to erase" in win.status.currentMessage()
    qtbot.keyClick(win.canvas, Qt.Key.Key_B)
    drag(qtbot, win, (300, 60), (420, 180))
    qtbot.waitUntil(lambda: len(client.requests) == 2)
    assert client.requests[-1].mask_input is None  # a clean start, as without the stroke
    wait_result(qtbot, win)
    mask = win.session.prompts.current_mask
    assert not mask[:, :290].any()  # nothing outside the box


def test_enter_returns_from_the_brush_to_the_tool_that_started_the_object(qtbot, make_window):
    win, client = make_window()
    qtbot.keyClick(win.canvas, Qt.Key.Key_B)
    drag(qtbot, win, (100, 60), (200, 160))
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_R)
    drag(qtbot, win, (190, 150), (230, 150))  # touch up with the brush
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert len(win.session.doc.annotations()) == 1
    assert win.tool_name == "box" and win.actions_by_name["box"].isChecked()
    drag(qtbot, win, (250, 60), (350, 160))  # the next box drag works at once
    qtbot.waitUntil(lambda: len(client.requests) == 2)
