"""Issue 15, editing accepted masks: reopen (double-click, or select + Enter / E), then brush,
eraser or clicks (refining from the stored mask as mask input); Enter writes it back as one
undo step, and the saved RLE is the edited mask. Real mouse events throughout."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from annotator.gui.session.prompt_state import mask_to_logits
from annotator.io.masks import decode_mask
from tests.gui.fakes.gestures import click, double_click, drag, wait_result

CTRL = Qt.KeyboardModifier.ControlModifier


def _accepted(qtbot, win, x=200, y=150):
    win.set_tool("box")
    drag(qtbot, win, (x - 60, y - 50), (x + 60, y + 50))
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    return win.session.doc.annotations()[-1]


def test_double_click_reopens_eraser_edits_and_enter_writes_back(qtbot, make_window, folder):
    win, _client = make_window()
    s = win.session
    original = _accepted(qtbot, win)
    win.set_tool("point")
    double_click(qtbot, win, 200, 150)
    assert s.prompts.state.source == original.id and not s.prompts.has_prompts
    np.testing.assert_array_equal(s.prompts.current_mask, original.mask)
    assert original.id not in {a.id for a in s.visible_annotations()}  # drawn once, as current
    qtbot.keyClick(win.canvas, Qt.Key.Key_E)
    drag(qtbot, win, (150, 150), (250, 150))  # erase a band across it
    edited = s.prompts.current_mask.copy()
    assert edited.sum() < original.area and not edited[150, 200]
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    anns = s.doc.annotations()
    assert [a.id for a in anns] == [original.id] and s.prompts.is_empty
    np.testing.assert_array_equal(anns[0].mask, edited)
    assert anns[0].area == int(edited.sum()) and anns[0].provenance["edited"] is True
    assert win.save()
    saved = json.loads((folder / "annotations.json").read_text())["annotations"]
    np.testing.assert_array_equal(decode_mask(saved[0]["segmentation"]), edited)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)  # one step: the original mask is back
    np.testing.assert_array_equal(s.doc.annotations()[0].mask, original.mask)
    assert s.prompts.state.source == original.id  # ... and the edit is on the canvas again


def test_select_then_e_reopens_and_clicks_refine_from_the_stored_mask(qtbot, make_window):
    win, client = make_window()
    s = win.session
    original = _accepted(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_E)  # right after Enter: not reopened by accident
    assert s.prompts.is_empty
    win.set_tool("point")
    click(qtbot, win, 200, 150, mods=CTRL)  # select it by hand
    assert s.selected == original.id
    qtbot.keyClick(win.canvas, Qt.Key.Key_R)
    assert s.prompts.state.source == original.id and win.tool_name == "brush"
    drag(qtbot, win, (300, 150), (330, 150))  # paint beyond its right edge
    painted = s.prompts.current_mask.copy()
    assert painted[150, 310] and painted.sum() > original.area
    win.set_tool("point")
    requests = len(client.requests)
    click(qtbot, win, 200, 150)
    qtbot.waitUntil(lambda: len(client.requests) == requests + 1)
    np.testing.assert_array_equal(client.requests[-1].mask_input, mask_to_logits(painted))
    assert not client.requests[-1].multimask
    wait_result(qtbot, win)
    answer = s.prompts.current_mask.copy()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert [a.id for a in s.doc.annotations()] == [original.id]
    np.testing.assert_array_equal(s.doc.annotations()[0].mask, answer)


def test_select_in_the_list_then_enter_reopens_and_esc_leaves_it_unchanged(qtbot, make_window):
    win, _client = make_window()
    s = win.session
    original = _accepted(qtbot, win)
    s.select(None)
    win.mask_list.table.selectRow(0)
    assert s.selected == original.id
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert s.prompts.state.source == original.id
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert s.prompts.is_empty and s.doc.annotations() == [original]
    assert original.id in {a.id for a in s.visible_annotations()}
