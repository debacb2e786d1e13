"""Issue 15: several masks selected in the list or on the canvas are relabelled (keys 1-9 or
the category box), hidden (H) and deleted together, each as one undo step; with nothing
selected, keys 1-9 pick the next object's category."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.gui.fakes.gestures import click, drag, wait_result

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _two_masks(qtbot, win):
    win.set_tool("box")
    for x0 in (40, 260):
        drag(qtbot, win, (x0, 60), (x0 + 120, 180))
        wait_result(qtbot, win)
        qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    win.session.add_category("dog")
    win.session.set_category(win.session.doc.categories()[0].id)
    return [a.id for a in win.session.doc.annotations()]


def test_canvas_multi_select_then_number_key_relabels_both(qtbot, make_window):
    win, _ = make_window()
    s = win.session
    first, second = _two_masks(qtbot, win)
    dog = s.doc.category_by_name("dog").id
    click(qtbot, win, 100, 120, mods=CTRL)
    click(qtbot, win, 320, 120, mods=CTRL | SHIFT)
    assert set(s.selection) == {first, second}
    assert win.mask_list.selected_ids() == [first, second]
    qtbot.keyClick(win.canvas, Qt.Key.Key_2)
    assert {a.category_id for a in s.doc.annotations()} == {dog}
    assert s.category_id != dog  # the next object's category did not change
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)  # one step
    assert {a.category_id for a in s.doc.annotations()} == {s.doc.categories()[0].id}
    click(qtbot, win, 320, 120, mods=CTRL | SHIFT)  # out again
    assert s.selection == (first,)
    click(qtbot, win, 5, 5, mods=CTRL)  # on nothing: nothing selected
    qtbot.keyClick(win.canvas, Qt.Key.Key_2)
    assert s.category_id == dog and {a.category_id for a in s.doc.annotations()} != {dog}


def test_list_multi_select_hides_and_deletes_together(qtbot, make_window):
    win, _ = make_window()
    s = win.session
    ids = _two_masks(qtbot, win)
    table = win.mask_list.table
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=table.visualItemRect(table.item(0, 1)).center(),
    )
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        CTRL,
        table.visualItemRect(table.item(1, 1)).center(),
    )
    assert set(s.selection) == set(ids)
    qtbot.keyClick(win.canvas, Qt.Key.Key_H)
    assert s.hidden == set(ids) and s.visible_annotations() == []
    qtbot.keyClick(win.canvas, Qt.Key.Key_H)
    assert s.hidden == set()
    dog = s.doc.category_by_name("dog").id
    box = win.mask_list.category_box
    box.setCurrentIndex(box.findData(dog))
    box.activated.emit(box.currentIndex())
    assert {a.category_id for a in s.doc.annotations()} == {dog}
    qtbot.keyClick(win.canvas, Qt.Key.Key_Delete)
    assert s.doc.annotations() == [] and s.selection == ()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert [a.id for a in s.annotations()] == ids
    assert "Undo: delete 2 masks" == win.status.currentMessage()
