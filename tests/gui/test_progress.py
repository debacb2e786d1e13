"""Issue 15, progress: "1 / 2 done" in the status bar, N jumps to the next unfinished image,
the project reopens on the image where the user stopped, and autosave says when it wrote."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.fakes.gestures import click, wait_result


def test_progress_next_unfinished_and_reopen_where_stopped(qtbot, make_window, folder):
    win, _ = make_window()
    s = win.session
    assert win.status.progress.text() == "0 / 2 done"
    qtbot.keyClick(win.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # done
    assert win.status.progress.text() == "1 / 2 done"
    qtbot.keyClick(win.canvas, Qt.Key.Key_N)
    assert s.current == "coffee.jpg"
    click(qtbot, win, 300, 200)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.status.autosaved.text().startswith("Autosaved "), timeout=3000)
    qtbot.keyClick(win.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert win.status.progress.text() == "2 / 2 done"
    qtbot.keyClick(win.canvas, Qt.Key.Key_N)
    assert s.current == "coffee.jpg" and "Every image is marked done" in win.status.currentMessage()
    assert win.save() and win.close()
    win2, _ = make_window()
    assert win2.session.current == "coffee.jpg"  # where the user stopped
