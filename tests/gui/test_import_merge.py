"""Issue 15 bug 2: File ▸ Import adds to the open project (images matched by file name,
categories by name) as one undoable step with a summary; it never replaces the project."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from annotator.io.masks import encode_mask
from tests.gui.fakes.gestures import click, wait_result


def _coco_file(folder):
    chelsea = np.zeros((300, 451), bool)
    chelsea[10:40, 10:60] = True
    coffee = np.zeros((400, 600), bool)
    coffee[100:200, 150:300] = True
    source = folder / "other_tool.json"
    source.write_text(
        json.dumps(
            {
                "images": [
                    {"id": 7, "file_name": "coffee.jpg", "width": 600, "height": 400},
                    {"id": 8, "file_name": "chelsea.jpg", "width": 451, "height": 300},
                ],
                "categories": [{"id": 3, "name": "cup"}, {"id": 4, "name": "object"}],
                "annotations": [
                    {"id": 1, "image_id": 7, "category_id": 3, "iscrowd": 0,
                     "segmentation": encode_mask(coffee)},
                    {"id": 2, "image_id": 8, "category_id": 4, "iscrowd": 0,
                     "segmentation": encode_mask(chelsea)},
                ],
            }
        )
    )  # fmt: skip
    return source, chelsea


def test_import_merges_into_the_open_project_as_one_undo_step(
    qtbot, make_window, folder, monkeypatch
):
    win, _client = make_window()
    s = win.session
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    mine = s.doc.annotations()[0]
    assert win.save()
    saved = (folder / "annotations.json").read_bytes()
    source, chelsea = _coco_file(folder)
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(source), ""))
    )
    win.files.import_annotations("coco")

    assert [c.name for c in s.doc.categories()] == ["object", "cup"]
    anns = s.doc.annotations()
    assert len(anns) == 3 and anns[0] == mine  # the project's own mask stays, untouched
    on_chelsea = s.doc.annotations_for(s.image_id)
    assert len(on_chelsea) == 2 and on_chelsea[1].category_id == mine.category_id
    np.testing.assert_array_equal(on_chelsea[1].mask, chelsea)
    assert win.mask_list.table.rowCount() == 2
    message = win.status.currentMessage()
    assert "added 2 masks on 2 images" in message and "1 new category (cup)" in message
    assert (folder / "annotations.json").read_bytes() == saved and s.doc.dirty
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert s.doc.annotations() == [mine] and [c.name for c in s.doc.categories()] == ["object"]
    assert win.status.currentMessage() == "Undo: import other_tool.json"
