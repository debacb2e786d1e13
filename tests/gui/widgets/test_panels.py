"""Categories, mask list, image list, hover and help through the window (fake model client)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from annotator.gui.widgets.help_dialog import HelpDialog
from tests.gui.fakes.gestures import click, wait_result


def commit_at(qtbot, win, x, y):
    click(qtbot, win, x, y)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    return win.session.selected


def test_categories_add_rename_recolor_and_number_keys(qtbot, make_window):
    win, _ = make_window()
    win.categories.addRequested.emit("cat")
    cat = win.session.doc.category_by_name("cat")
    assert cat is not None and win.session.category_id == cat.id
    assert win.categories.list.count() == 2 and "2  cat" in win.categories.list.item(1).text()
    win.categories.renameRequested.emit(cat.id, "kitten")
    win.categories.recolorRequested.emit(cat.id, "#00ff00")
    doc = win.session.doc
    assert doc.category(cat.id).name == "kitten" and doc.category(cat.id).color == "#00ff00"
    qtbot.keyClick(win.canvas, Qt.Key.Key_1)
    assert win.session.category_id == win.session.doc.categories()[0].id
    qtbot.keyClick(win.canvas, Qt.Key.Key_2)
    ann = commit_at(qtbot, win, 200, 150)
    assert win.session.doc.annotation(ann).category_id == cat.id
    assert win.mask_list.table.item(0, 2).text() == "kitten"
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the commit
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Esc undone
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the click
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # recolor
    assert win.session.doc.category(cat.id).color != "#00ff00"


def test_mask_list_selection_visibility_category_and_delete(qtbot, make_window):
    win, _ = make_window()
    first = commit_at(qtbot, win, 100, 100)
    second = commit_at(qtbot, win, 300, 200)
    table = win.mask_list.table
    assert table.rowCount() == 2
    table.selectRow(0)
    assert win.session.selected == first
    assert win.canvas.selected_path.path().elementCount() > 0  # outlined on the canvas
    table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert first in win.session.hidden
    image = win.canvas.committed_item.image  # an RGBA crop placed at the masks' bounding box
    rect = win.canvas.committed_item.mapRectToParent(win.canvas.committed_item.boundingRect())
    assert rect.left() > 110  # the hidden first mask (around x=100) is not drawn
    assert image[int(200 - rect.top()), int(300 - rect.left()), 3] > 0
    win.categories.addRequested.emit("dog")
    table.selectRow(1)
    dog = win.session.doc.category_by_name("dog").id
    win.mask_list.category_box.setCurrentIndex(win.mask_list.category_box.findData(dog))
    win.mask_list.category_box.activated.emit(win.mask_list.category_box.currentIndex())
    assert win.session.doc.annotation(second).category_id == dog
    win.mask_list.delete_button.click()
    assert [a.id for a in win.session.doc.annotations()] == [first]


def test_hover_highlights_the_committed_mask_under_the_cursor(qtbot, make_window):
    win, _ = make_window()
    commit_at(qtbot, win, 200, 150)
    qtbot.wait(40)  # pyqtgraph drops mouse moves closer than 1/100 s apart
    qtbot.mouseMove(win.canvas.viewport(), win.canvas.image_to_view(210, 155))
    qtbot.waitUntil(lambda: win.canvas.hover_path.path().elementCount() > 0)
    qtbot.wait(40)
    qtbot.mouseMove(win.canvas.viewport(), win.canvas.image_to_view(20, 280))
    qtbot.waitUntil(lambda: win.canvas.hover_path.path().elementCount() == 0)


def test_image_list_marks_and_filters(qtbot, make_window):
    win, _ = make_window()
    panel = win.image_list
    assert panel.visible_names() == ["chelsea.jpg", "coffee.jpg"]
    commit_at(qtbot, win, 200, 150)
    qtbot.keyClick(win.canvas, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # mark done
    panel.status_filter.setCurrentText("Done")
    assert panel.visible_names() == ["chelsea.jpg"]
    panel.status_filter.setCurrentText("Untouched")
    assert panel.visible_names() == ["coffee.jpg"]
    panel.status_filter.setCurrentText("All")
    panel.text_filter.setText("cof")
    assert panel.visible_names() == ["coffee.jpg"]
    panel.list.itemClicked.emit(panel.list.item(0))
    assert win.session.current == "coffee.jpg"


def test_help_lists_every_shortcut(qtbot, make_window):
    win, _ = make_window()
    dialog = HelpDialog(win.actions_by_name.values(), win)
    keys = {k for k, _ in dialog.rows}
    for key in ("Return", "Esc", "Del", "Ctrl+Z", "Ctrl+Shift+Z", "C", "B", "Tab", "D", "A",
                "Ctrl+S", "F", "1", "9"):  # fmt: skip
        assert any(key in k.split(" / ") for k in keys), key


def test_model_menu_has_known_models_and_a_device_choice(qtbot, make_window):
    win, client = make_window()
    loads = []
    client.load_model = lambda ckpt, mtype, device, dtype: loads.append((ckpt, mtype, device))
    win.model_menu.aboutToShow.emit()  # the models menu rebuilds itself when opened
    texts = [a.text() for a in win.model_menu.actions()]
    assert any("bundled" in t for t in texts) and "Device" in texts
    device_menu = next(a.menu() for a in win.model_menu.actions() if a.text() == "Device")
    next(a for a in device_menu.actions() if a.text() == "cpu").trigger()
    assert loads == [(None, "auto", "cpu")]  # the current model again, on the CPU
