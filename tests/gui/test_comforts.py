"""Issue 15, the comforts: toolbar, settings remembered (window, recent files, last folder),
drag-and-drop, view options, copy to the next image (Ctrl+Shift+V), grouped help, a window
sized to the screen."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QMenu

from tests.gui.fakes.gestures import click, drag, wait_result

CTRL = Qt.KeyboardModifier.ControlModifier


def test_toolbar_holds_the_tools_and_zoom_and_the_status_shows_the_zoom(qtbot, make_window):
    win, _ = make_window()
    texts = [a.text() for a in win.toolbar.actions()]
    for text in ("&Point tool", "&Box tool", "P&olygon (edit vertices)", "Zoom &in", "&Undo"):
        assert text in texts
    next(a for a in win.toolbar.actions() if a.text() == "&Box tool").trigger()
    assert win.tool_name == "box"
    before = win.canvas.pixels_per_screen_pixel()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Equal, CTRL)
    QApplication.processEvents()
    assert win.canvas.pixels_per_screen_pixel() < before
    assert win.status.zoom.text().endswith("%")


def test_the_window_uses_the_screen_and_settings_are_remembered(qtbot, make_window, folder):
    win, _ = make_window()
    win.settings.store.remove("window")  # a first run: ~90% of the screen, on the screen
    win.settings.restore_window()
    avail = QGuiApplication.primaryScreen().availableGeometry()
    assert win.height() == int(0.9 * avail.height())
    assert win.width() >= int(0.9 * avail.width())  # or the window's minimum, if wider
    assert win.x() >= avail.x() and win.y() >= avail.y()
    assert win.settings.recent()[0] == str(folder.resolve())
    assert win.settings.last_folder() == str(folder.resolve())
    win.resize(win.width(), 500)
    assert win.close()
    win2, _ = make_window(folder / "coffee.jpg")
    win2.settings.restore_window()  # what a new window does (the fixture sized this one)
    assert win2.height() == 500  # the last geometry
    assert win2.settings.recent()[0] == str((folder / "coffee.jpg").resolve())
    menu = next(m for m in win2.menuBar().findChildren(QMenu) if m.title() == "Open &Recent")
    menu.aboutToShow.emit()
    assert [a.text() for a in menu.actions()][:2] == [
        str((folder / "coffee.jpg").resolve()),
        str(folder.resolve()),
    ]


def test_dropping_an_image_of_the_project_shows_it(qtbot, make_window, folder):
    win, _ = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "coffee.jpg"))])
    args = (QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier)  # fmt: skip
    enter = QDragEnterEvent(QPoint(50, 50), *args[1:])
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    from annotator.gui.drop import DropOpener

    win.findChild(DropOpener).eventFilter(win, QDropEvent(*args))  # what Qt calls on the drop
    assert win.session.current == "coffee.jpg"


def test_view_options_change_the_view_only(qtbot, make_window):
    win, _ = make_window()
    s = win.session
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    raw = win.canvas.image_item.image.copy()
    win.view_options.set_image_levels(brightness=40)
    assert win.canvas.image_item.image.mean() > raw.mean()
    np.testing.assert_array_equal(s.image, raw)  # the image the model sees is unchanged
    win.view_options.set_outline_only(True)
    assert win.canvas.committed_item.image is None
    win.view_options.set_outline_only(False)
    win.view_options.set_opacity(0.25)
    assert win.canvas.committed_item.image[..., 3].max() <= 0.25 * 170 + 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert s.visible_annotations() == []
    qtbot.keyClick(win.canvas, Qt.Key.Key_H, Qt.KeyboardModifier.ShiftModifier)
    assert len(s.visible_annotations()) == 1
    win.view_options.set_dark(True)
    assert QApplication.palette().window().color().name() == "#2b2b2b"
    win.view_options.set_dark(False)


def test_copy_selected_masks_to_the_next_image(qtbot, make_window):
    win, _ = make_window(autosave_delay_s=600)
    s = win.session
    win.set_tool("box")
    drag(qtbot, win, (100, 60), (200, 160))
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    mine = s.doc.annotations()[0]
    # chelsea (451x300) and coffee (600x400) differ in size: refused, nothing copied
    qtbot.keyClick(win.canvas, Qt.Key.Key_V, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert "Not copied" in win.status.currentMessage() and len(s.doc.annotations()) == 1
    record = s.doc.image(s.image_id)
    import shutil

    shutil.copy(s.doc.images_root / "chelsea.jpg", s.doc.images_root / "chelsea2.jpg")
    s.images.insert(1, "chelsea2.jpg")
    qtbot.keyClick(win.canvas, Qt.Key.Key_V, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert s.current == "chelsea2.jpg" and record.file_name == "chelsea.jpg"
    copied = s.annotations()
    assert len(copied) == 1 and copied[0].rle == mine.rle and s.selection == (copied[0].id,)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)  # one step, on the image it changed
    assert s.annotations() == [] and len(s.doc.annotations()) == 1


def test_help_explains_the_workflow_and_groups_the_keys(qtbot, make_window, monkeypatch):
    from annotator.gui.widgets import help_dialog

    shown = []
    monkeypatch.setattr(help_dialog.HelpDialog, "exec", lambda self: shown.append(self))
    win, _ = make_window()
    qtbot.keyClick(win.canvas, Qt.Key.Key_F1)
    dialog = shown[0]
    text = dialog.findChild(help_dialog.QLabel).text()
    for word in ("Candidates", "Done marks", "Autosave", "Hidden masks", "Undo"):
        assert word in text
    keys = {k for k, _ in dialog.rows}
    assert {"Ctrl+Shift+V", "P", "N", "H"} <= {k for ks in keys for k in ks.split(" / ")}
