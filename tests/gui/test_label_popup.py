"""Issue 15: the label pop-up on accept. On for a new project: type to search, Enter takes the
highlighted label; recent labels come first; a new name creates the category."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.fakes.gestures import click, wait_result


def _accept_at(qtbot, win, x, y):
    click(qtbot, win, x, y)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    return win.session.doc.annotations()[-1].id


def test_label_popup_creates_searches_and_puts_recent_first(qtbot, make_window):
    win, _ = make_window(label_popup=True)
    s = win.session
    popup = win.labels.popup
    assert win.actions_by_name["label_popup"].isChecked()
    first = _accept_at(qtbot, win, 100, 100)
    assert popup.isVisible() and popup.edit.hasFocus()
    qtbot.keyClicks(popup.edit, "cat")
    assert popup.list.currentItem().text() == "Create “cat”"
    qtbot.keyClick(popup.edit, Qt.Key.Key_Return)
    assert not popup.isVisible()
    cat = s.doc.category_by_name("cat")
    assert s.doc.annotation(first).category_id == cat.id and s.category_id == cat.id
    second = _accept_at(qtbot, win, 300, 200)
    rows = [popup.list.item(i).text() for i in range(popup.list.count())]
    assert rows == ["cat", "object"]  # the recent label first
    qtbot.keyClicks(popup.edit, "obj")
    assert popup.list.currentItem().text() == "object"
    qtbot.keyClick(popup.edit, Qt.Key.Key_Return)
    assert s.doc.annotation(second).category_id == s.doc.category_by_name("object").id
    assert len(s.doc.annotations()) == 2  # Enter in the pop-up accepted nothing else
    third = _accept_at(qtbot, win, 200, 250)
    qtbot.keyClick(popup.edit, Qt.Key.Key_Escape)  # keeps the current category
    assert not popup.isVisible() and s.doc.annotation(third).category_id == s.category_id


def test_a_click_for_the_next_object_closes_the_popup(qtbot, make_window):
    win, _ = make_window(label_popup=True)
    _accept_at(qtbot, win, 100, 100)
    assert win.labels.popup.isVisible()
    click(qtbot, win, 350, 250)
    assert not win.labels.popup.isVisible()
    win.actions_by_name["label_popup"].setChecked(False)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert not win.labels.popup.isVisible()
