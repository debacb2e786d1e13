"""Refining a found instance in the window (pytest-qt, offscreen): double-click a candidate,
click where the mask should grow, Enter; the refined mask keeps the phrase's category and the
find's provenance, the other candidates stay under review, and Ctrl+Z says what it undid."""

from __future__ import annotations

from PySide6.QtCore import Qt

from annotator.gui.model.concepts import ConceptClient
from tests.gui.fakes.gestures import click, double_click, wait_result
from tests.gui.test_find_window import CTRL, FakeConcepts, open_find


def find_dogs(qtbot, win):
    win.find.set_client(ConceptClient(loader=FakeConcepts))
    open_find(qtbot, win, "dog")
    qtbot.waitUntil(lambda: len(win.find.session.state.candidates) == 3)
    return win.find.session


def test_double_click_refine_with_a_click_then_enter(qtbot, make_window):
    win, client = make_window(refines=True)
    session, doc = win.session, win.session.doc
    find = find_dogs(qtbot, win)
    found = find.state.candidates[1].mask.copy()  # x 120-200, y 40-120, score 0.71

    double_click(qtbot, win, 160, 80)
    assert session.prompts.state.origin is not None
    assert win.canvas.tool is win.tools["point"]  # clicks now go to the interactive model
    assert [label.textItem.toPlainText() for label in win.find.overlay.labels] == [
        "0.92", "0.35"
    ]  # fmt: skip
    assert "Refining 'dog' 0.71" in win.status.currentMessage()

    click(qtbot, win, 208, 80)  # just right of the found mask
    wait_result(qtbot, win)
    assert client.requests[-1].mask_input is not None and not client.requests[-1].multimask
    mask = session.prompts.current_mask
    assert mask[80, 208] and not found[80, 208]  # the mask grew where the user clicked
    assert mask[80, 160] and mask[45, 125]  # the rest of the found mask is still there

    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)  # accepts the refined one only
    (ann,) = doc.annotations_for(session.image_id)
    assert doc.category(ann.category_id).name == "dog"
    prov = ann.provenance
    assert (prov["source"], prov["phrase"], prov["score"]) == ("sam3-text", "dog", 0.71)
    assert prov["refined_with"] == "fake" and prov["point_labels"] == [1]
    assert find.active and win.canvas.tool is win.find.tool  # back to the other candidates
    assert len(win.find.overlay.labels) == 2

    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)  # the kept one of the rest (0.92)
    assert [a.provenance["score"] for a in doc.annotations_for(session.image_id)] == [0.71, 0.92]
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert win.status.currentMessage() == "Undo: accept 1 found 'dog'"
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert win.status.currentMessage() == "Undo: add refined 'dog'"
    assert doc.annotations_for(session.image_id) == []


def test_esc_while_refining_puts_the_candidate_back(qtbot, make_window):
    win, _ = make_window(refines=True)
    find = find_dogs(qtbot, win)
    double_click(qtbot, win, 160, 80)
    assert len(win.find.overlay.labels) == 2
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert win.session.prompts.is_empty and len(win.find.overlay.labels) == 3
    assert find.active and win.canvas.tool is win.find.tool


def test_a_box_only_model_says_which_model_refines_with_clicks(qtbot, make_window):
    win, _ = make_window(prompt_hint="boxes")
    find_dogs(qtbot, win)
    double_click(qtbot, win, 160, 80)
    assert win.session.prompts.state.origin is not None
    message = win.status.currentMessage()
    assert "fake works from boxes" in message and "load SAM 1 or SAM 2.1" in message
