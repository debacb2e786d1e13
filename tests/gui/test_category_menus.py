"""Issue 15: categories are deleted with their masks (after a confirmation), merged and
reordered from the right-click menu, renamed by double-click; the mask list's right-click menu
edits, relabels, hides and deletes the selected masks."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from tests.gui.fakes.gestures import click, wait_result

CTRL = Qt.KeyboardModifier.ControlModifier


def _menu_action(menu, text):
    for action in menu.actions():
        if action.menu() is not None:
            found = _menu_action(action.menu(), text)
            if found is not None:
                return found
        if action.text() == text:
            return action
    return None


def _setup(qtbot, win):
    s = win.session
    click(qtbot, win, 100, 100)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    s.add_category("dog")
    click(qtbot, win, 300, 200)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    return s.doc.category_by_name("object").id, s.doc.category_by_name("dog").id


def test_category_menu_merges_moves_and_deletes_with_confirmation(qtbot, make_window, answers):
    asked, replies = answers
    win, _ = make_window()
    s = win.session
    obj, dog = _setup(qtbot, win)
    panel = win.categories
    panel.list.setCurrentRow(1)  # dog
    _menu_action(panel.context_menu(), "Move up").trigger()
    assert [c.name for c in s.doc.categories()] == ["dog", "object"]
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)  # nothing selected: keys pick a category
    qtbot.keyClick(win.canvas, Qt.Key.Key_2)  # keys follow the order: 2 is now "object"
    assert s.category_id == obj
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert [c.name for c in s.doc.categories()] == ["object", "dog"]
    panel.list.setCurrentRow(1)
    _menu_action(panel.context_menu(), "Delete with its masks…").trigger()  # answered No
    assert "Delete category?" in asked and len(s.doc.annotations()) == 2
    replies["Delete category?"] = QMessageBox.StandardButton.Yes
    _menu_action(panel.context_menu(), "Delete with its masks…").trigger()
    assert [c.name for c in s.doc.categories()] == ["object"] and len(s.doc.annotations()) == 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)  # one step brings both back
    assert len(s.doc.annotations()) == 2 and s.doc.category(dog).name == "dog"
    assert panel.list.count() == 2
    panel.list.setCurrentRow(1)
    _menu_action(panel.context_menu(), "object").trigger()  # Merge into ▸ object
    assert {a.category_id for a in s.doc.annotations()} == {obj}
    assert [c.name for c in s.doc.categories()] == ["object"]


def test_double_click_renames_and_the_mask_menu_acts_on_the_selection(
    qtbot, make_window, monkeypatch
):
    win, _ = make_window()
    s = win.session
    obj, dog = _setup(qtbot, win)
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("cat", True)))
    panel = win.categories
    item = panel.list.item(0)
    panel.list.setCurrentItem(item)
    panel.list.itemDoubleClicked.emit(item)
    assert s.doc.category(obj).name == "cat"
    s.selecting.set(a.id for a in s.annotations())
    menu = win.mask_list.context_menu()
    _menu_action(menu, "dog").trigger()  # Relabel 2 as ▸ dog
    assert {a.category_id for a in s.annotations()} == {dog}
    _menu_action(win.mask_list.context_menu(), "Hide / show (H)").trigger()
    assert s.visible_annotations() == []
    _menu_action(win.mask_list.context_menu(), "Delete (Del)").trigger()
    assert s.annotations() == []
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    first = s.annotations()[0].id
    s.select(first)
    _menu_action(win.mask_list.context_menu(), "Edit mask (Enter)").trigger()
    assert s.prompts.state.source == first
