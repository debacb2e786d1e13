"""Issue 15: "segment everything" from the toolbar: the generator's masks appear as proposals
to keep or drop, Enter adds the kept ones in one undo step, existing masks stay."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QToolButton

from tests.gui.fakes.gestures import click, wait_result


def toolbar_button(win, text: str) -> QToolButton:
    action = win.actions_by_name["everything"]
    button = win.toolbar.widgetForAction(action)
    assert isinstance(button, QToolButton) and action.text().replace("&", "") == text
    return button


def wait_proposals(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.everything.bar.isVisible(), timeout=5000)


def test_toolbar_button_shows_proposals_and_enter_adds_them_in_one_undo_step(qtbot, make_window):
    win, _client = make_window()
    qtbot.mouseClick(toolbar_button(win, "Segment everything"), Qt.MouseButton.LeftButton)
    wait_proposals(qtbot, win)
    bar = win.everything.bar
    assert len(bar.buttons) == 3 and all(b.isChecked() for b in bar.buttons)
    assert "3 of 3 kept" in bar.label.text()
    assert "3 masks" in win.status.currentMessage()
    # drop the second proposal by its thumbnail
    qtbot.mouseClick(bar.buttons[1], Qt.MouseButton.LeftButton)
    assert not bar.buttons[1].isChecked() and "2 of 3 kept" in bar.label.text()
    assert bar.accept_button.text() == "Accept 2 (Enter)"
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert not bar.isVisible()
    anns = win.session.annotations()
    assert len(anns) == 2 and win.mask_list.table.rowCount() == 2
    areas = sorted(int(win.session.masks.mask(a).sum()) for a in anns)
    assert areas == [40 * 60, 40 * 60]
    assert "Added 2 masks" in win.status.currentMessage()
    win.session.undo()  # one step takes both back
    assert win.session.annotations() == []
    win.session.redo()
    assert len(win.session.annotations()) == 2


def test_existing_masks_stay_and_their_duplicates_start_dropped(qtbot, make_window):
    win, client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    (existing,) = win.session.annotations()
    mask = win.session.masks.mask(existing)
    other = np.zeros_like(mask)
    other[:30, :30] = True
    client.everything_masks = [mask, other]
    win.actions_by_name["everything"].trigger()  # the menu entry / Ctrl+E
    wait_proposals(qtbot, win)
    assert [b.isChecked() for b in win.everything.bar.buttons] == [False, True]
    win.everything.bar.accept_button.click()
    anns = win.session.annotations()
    assert len(anns) == 2 and anns[0].id == existing.id
    np.testing.assert_array_equal(win.session.masks.mask(anns[0]), mask)


def test_esc_rejects_the_proposals_and_adds_nothing(qtbot, make_window):
    win, _client = make_window()
    win.everything.start()
    wait_proposals(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert not win.everything.bar.isVisible() and win.session.annotations() == []
    assert not win.session.proposals.active


def test_another_image_drops_the_proposals(qtbot, make_window):
    win, _client = make_window()
    win.everything.start()
    wait_proposals(qtbot, win)
    first = win.session.current
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    qtbot.waitUntil(lambda: win.session.current != first)
    assert not win.everything.bar.isVisible() and win.session.annotations() == []


def test_cancel_in_the_status_bar_stops_the_run(qtbot, make_window):
    win, client = make_window(delay_ms=300)
    win.everything.start()
    cancel = win.everything.cancel_button
    assert cancel.isVisible() and "Segmenting everything" in win.status.encode.text()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    assert not cancel.isVisible() and not client.everything_running
    qtbot.wait(500)
    assert not win.everything.bar.isVisible()
    assert "cancelled" in win.status.currentMessage()


def test_a_box_only_model_says_why_its_masks_are_poor(qtbot, make_window):
    win, client = make_window(prompt_hint="boxes")
    client.everything_masks = np.zeros((0, *client.shape), bool)
    win.everything.start()
    assert "trained with box prompts" in win.status.currentMessage()
    qtbot.waitUntil(lambda: not win.everything.running)
    text = win.status.currentMessage()
    assert "found no masks" in text and "Load a SAM or MobileSAM model" in text
