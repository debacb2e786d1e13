"""Issue 15, polygon editing with real mouse events: P on a selected mask shows its vertices;
dragging one, inserting one on an edge and deleting one edit the mask (its hole kept), Enter
writes it back, and the saved RLE is the edited mask."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from annotator.io.masks import decode_mask
from tests.gui.fakes.gestures import click, drag


def test_vertex_drag_insert_delete_then_enter_saves_the_edited_mask(qtbot, make_window, folder):
    win, _ = make_window()
    s = win.session
    mask = np.zeros(s.image.shape[:2], bool)
    mask[50:150, 50:200] = True
    mask[80:120, 100:150] = False  # a hole
    ann_id = s.doc.add_annotation(s.image_id, s.current_category(), mask)
    s.select(ann_id)
    qtbot.keyClick(win.canvas, Qt.Key.Key_P)  # reopens the selected mask, polygon tool
    tool = win.tools["polygon"]
    assert win.tool_name == "polygon" and s.prompts.state.source == ann_id
    assert len(tool.outline) == 2 and win.canvas.poly_vertices.data.size == 8  # 4 + 4 corners
    drag(qtbot, win, (50, 50), (30, 30))  # the outer top-left corner, outwards
    moved = s.prompts.current_mask.copy()
    assert moved[40, 45] and not mask[40, 45] and not moved[100, 125]  # grew; hole kept
    click(qtbot, win, 125, 150)  # the middle of the bottom edge: a new vertex
    outer = next(r for r in tool.rings if not r.hole)
    assert len(outer.points) == 5
    drag(qtbot, win, (125, 150), (125, 180))  # pull it down
    assert s.prompts.current_mask[170, 125]
    click(qtbot, win, 125, 180, Qt.MouseButton.RightButton)  # delete it again
    assert len(outer.points) == 4 and not s.prompts.current_mask[170, 125]
    edited = s.prompts.current_mask.copy()
    np.testing.assert_array_equal(edited, moved)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    np.testing.assert_array_equal(s.doc.annotation(ann_id).mask, edited)
    assert win.save()
    saved = json.loads((folder / "annotations.json").read_text())["annotations"]
    np.testing.assert_array_equal(decode_mask(saved[0]["segmentation"]), edited)
    qtbot.keyClick(win.canvas, Qt.Key.Key_BracketRight)  # tolerance is the user's
    assert "Polygon tolerance" in win.status.currentMessage()
