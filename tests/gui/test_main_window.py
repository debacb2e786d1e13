"""The window end to end with a fake model client: real Qt mouse events on the canvas, Enter,
the mask list, the saved COCO file, undo/redo, image switching, errors, closing, recovery."""

from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.fakes.client import synthetic_masks
from tests.gui.fakes.gestures import click, drag, wait_result

SB = QMessageBox.StandardButton


def test_box_and_points_through_the_view_then_enter_and_save(qtbot, make_window, folder):
    win, client = make_window()
    assert "annotator" in win.windowTitle() and "chelsea.jpg" in win.windowTitle()
    win.set_tool("box")
    drag(qtbot, win, (100, 60), (260, 180))
    qtbot.waitUntil(lambda: len(client.requests) == 1)
    box = client.requests[0].box
    assert np.allclose(box, [100, 60, 260, 180], atol=2.5)  # one screen pixel < 1 image pixel
    wait_result(qtbot, win)
    win.set_tool("point")
    click(qtbot, win, 300, 150)  # foreground point outside the box
    click(qtbot, win, 120, 70, Qt.MouseButton.RightButton)  # background inside it
    qtbot.waitUntil(lambda: len(client.requests) == 3)
    wait_result(qtbot, win)
    last = client.decoded[-1]
    assert last is client.requests[-1]
    assert last.labels.tolist() == [1, 0] and not last.multimask
    assert last.mask_input is not None  # refines from the previous result
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    anns = win.session.doc.annotations_for(win.session.image_id)
    assert len(anns) == 1 and win.session.prompts.is_empty
    assert win.mask_list.table.rowCount() == 1
    assert win.mask_list.table.item(0, 2).text() == "object"
    assert int(win.mask_list.table.item(0, 3).text()) == anns[0].area
    qtbot.keyClick(win.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = folder / "annotations.json"
    assert saved.exists() and not win.session.doc.dirty

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    coco = COCO(str(saved))
    ann = coco.loadAnns(coco.getAnnIds())[0]
    img = coco.loadImgs(ann["image_id"])[0]
    assert img["file_name"] == "chelsea.jpg"
    got = mask_utils.decode(ann["segmentation"]).astype(bool)
    want, _ = synthetic_masks(
        (img["height"], img["width"]), ann["point_coords"], ann["point_labels"], ann["box"], False
    )
    np.testing.assert_array_equal(got, want[0])
    assert ann["point_labels"] == [1, 0] and len(ann["box"]) == 4


def test_first_click_shows_candidates_tab_cycles_and_pick(qtbot, make_window):
    win, client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    assert client.requests[0].multimask
    assert win.candidates.isVisible() and len(win.candidates.buttons) == 3
    assert win.session.prompts.state.chosen == 1  # best score first
    assert "0.95" in win.candidates.buttons[1].text()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Tab)
    assert win.session.prompts.state.chosen == 2
    qtbot.mouseClick(win.candidates.buttons[0], Qt.MouseButton.LeftButton)
    assert win.session.prompts.state.chosen == 0
    chosen_area = win.session.prompts.current_mask.sum()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert win.session.doc.annotations_for(win.session.image_id)[0].area == chosen_area


def test_fifty_rapid_clicks_apply_one_result_for_the_final_prompts(qtbot, make_window):
    win, client = make_window(delay_ms=30)
    applied = []
    client.maskReady.connect(lambda r: applied.append(r.request_id))
    t0 = time.perf_counter()
    for i in range(50):
        click(qtbot, win, 50 + 5 * i, 100 + (i % 7))
    elapsed = time.perf_counter() - t0
    qtbot.waitUntil(lambda: not win.session.editor.decoding)
    qtbot.wait(60)
    assert len(applied) == 1 and len(client.requests) == 50
    assert len(client.decoded[-1].points) == 50
    assert len(win.session.prompts.state.points) == 50
    assert elapsed < 10  # the UI thread never waited for a decode


def test_undo_redo_over_prompts_and_annotations(qtbot, make_window):
    win, _client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    click(qtbot, win, 240, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert len(win.session.doc.annotations()) == 1
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl)  # undo Enter: the object is back
    assert win.session.doc.annotations() == [] and len(win.session.prompts.state.points) == 2
    assert win.mask_list.table.rowCount() == 0
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl)  # undo the second click
    prompts = win.session.prompts
    assert len(prompts.state.points) == 1 and prompts.current_mask is not None
    shift_ctrl = ctrl | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, shift_ctrl)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, shift_ctrl)
    assert len(win.session.doc.annotations()) == 1 and win.session.prompts.is_empty
    ann_id = win.session.doc.annotations()[0].id
    win.session.select(None)
    click(qtbot, win, 200, 150, mods=Qt.KeyboardModifier.ControlModifier)  # select on canvas
    assert win.session.selected == ann_id and win.mask_list.selected_id() == ann_id
    qtbot.keyClick(win.canvas, Qt.Key.Key_Delete)
    assert win.session.doc.annotations() == []
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, ctrl)
    assert [a.id for a in win.session.doc.annotations()] == [ann_id]


def test_switching_images_keeps_each_images_annotations(qtbot, make_window):
    win, client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert win.session.current == "coffee.jpg" and win.mask_list.table.rowCount() == 0
    assert client.key.endswith("coffee.jpg")
    click(qtbot, win, 300, 200)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_1)  # category 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    click(qtbot, win, 100, 100)  # an object left in progress
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_A)
    assert win.session.current == "chelsea.jpg" and win.mask_list.table.rowCount() == 1
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert win.mask_list.table.rowCount() == 1
    assert len(win.session.prompts.state.points) == 1  # the parked object came back
    marks = [win.image_list.list.item(i).text()[0] for i in range(win.image_list.list.count())]
    assert marks == ["◐", "◐"]
    win.image_list.status_filter.setCurrentText("Untouched")
    assert win.image_list.visible_names() == []


def test_worker_error_shows_a_message_and_the_app_keeps_working(qtbot, make_window, answers):
    win, client = make_window()
    client.fail_next = True
    click(qtbot, win, 200, 150)
    qtbot.waitUntil(lambda: "Model error" in answers[0])
    assert not win.session.editor.decoding
    click(qtbot, win, 210, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert len(win.session.doc.annotations()) == 1


def test_close_with_unsaved_changes_asks(qtbot, make_window, answers, folder):
    asked, replies = answers
    win, client = make_window()
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)  # only looking at images is not an edit
    assert not win.session.doc.dirty and "*" not in win.windowTitle()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    replies["Unsaved changes"] = SB.Cancel
    assert not win.close()
    assert asked == ["Unsaved changes"] and win.isVisible()
    replies["Unsaved changes"] = SB.Save
    assert win.close()
    assert client.shut_down
    data = json.loads((folder / "annotations.json").read_text())
    assert len(data["annotations"]) == 1


def test_recovery_after_a_simulated_crash(qtbot, make_window, answers, folder):
    asked, replies = answers
    win, _client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    sidecar = win.session.autosaver.target  # this window's own annotations.autosave-<id>.json
    qtbot.waitUntil(sidecar.exists, timeout=3000)  # debounced autosave after the commit
    win.session.doc.mark_clean()  # "crash": the window goes away without saving or cleaning up
    win.session.autosaver = None
    win.close()
    replies["Recover unsaved work?"] = SB.Yes
    win2, _ = make_window()
    assert "Recover unsaved work?" in asked
    assert len(win2.session.doc.annotations()) == 1 and win2.session.doc.dirty
    assert win2.mask_list.table.rowCount() == 1


def test_project_changed_on_disk_is_not_overwritten_silently(
    qtbot, make_window, folder, monkeypatch
):
    win, _client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert win.save()
    project = folder / "annotations.json"
    project.write_text(project.read_text().replace('"object"', '"cat"'))
    doc = win.session.doc
    assert win.session.selected == doc.annotations()[0].id  # Enter selected the new mask
    qtbot.keyClick(win.canvas, Qt.Key.Key_Delete)
    assert win.session.doc.annotations() == []
    from annotator.gui.widgets import dialogs

    monkeypatch.setattr(dialogs, "ask_changed_on_disk", lambda parent, path: "cancel")
    assert not win.save()
    assert '"cat"' in project.read_text()  # the other program's change survived


def test_boxes_model_says_so_and_starts_with_the_box_tool(qtbot, make_window):
    win, _ = make_window(prompt_hint="boxes")
    assert "works from boxes" in win.status.hint.text() and win.tool_name == "box"


def test_brush_edit_is_the_result_and_feeds_the_next_click(qtbot, make_window):
    win, client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    before = win.session.prompts.current_mask.copy()
    win.set_tool("eraser")
    drag(qtbot, win, (190, 140), (210, 160))
    edited = win.session.prompts.current_mask
    assert edited.sum() < before.sum() and not edited[150, 200]
    win.set_tool("point")
    click(qtbot, win, 260, 150)
    qtbot.waitUntil(lambda: len(client.requests) == 2)
    from annotator.gui.session.prompt_state import mask_to_logits

    np.testing.assert_array_equal(client.requests[1].mask_input, mask_to_logits(edited))


def test_a_broken_image_is_reported_and_the_current_one_stays(qtbot, make_window, answers, folder):
    asked, _ = answers
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    win, _client = make_window()
    assert "broken.jpg" in win.session.images
    assert not win.files.show_image("broken.jpg")
    assert asked == ["Cannot open image"] and win.session.current == "chelsea.jpg"
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    assert win.session.editor.accept() is not None


def test_opening_one_image_uses_annotations_json_in_its_folder(qtbot, make_window, folder):
    win, _client = make_window(folder / "coffee.jpg")
    assert win.session.current == "coffee.jpg" and "coffee.jpg" in win.windowTitle()
    assert win.session.doc.path == folder / "annotations.json"
    # the folder's other images are listed
    assert win.session.images == ["chelsea.jpg", "coffee.jpg"]


def test_switching_images_autosaves_at_once(qtbot, make_window, folder):
    win, _client = make_window(autosave_delay_s=600)  # the debounce alone would wait 10 min
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    sidecar = win.session.autosaver.target  # this window's own annotations.autosave-<id>.json
    assert sidecar.parent == folder and not sidecar.exists()
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert sidecar.exists() and len(json.loads(sidecar.read_text())["annotations"]) == 1


def test_replacing_by_an_import_starts_a_fresh_project_state(
    qtbot, make_window, folder, monkeypatch, answers
):
    """Replace is an explicit, confirmed choice. Nothing of the replaced project carries
    over: not its undo steps, nor hidden ids (which the imported annotations reuse), nor its
    autosaver."""
    from PySide6.QtWidgets import QFileDialog

    from annotator.io.masks import encode_mask

    win, _client = make_window()
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    old_id = win.session.doc.annotations()[0].id
    win.session.hidden.add(old_id)
    old_autosaver = win.session.autosaver
    closed = []
    monkeypatch.setattr(old_autosaver, "close", lambda: closed.append(True))

    mask = np.zeros((400, 600), bool)
    mask[100:200, 150:300] = True
    source = folder / "other_tool.json"
    source.write_text(
        json.dumps(
            {
                "images": [{"id": 7, "file_name": "coffee.jpg", "width": 600, "height": 400}],
                "categories": [{"id": 3, "name": "cup"}],
                "annotations": [
                    {"id": old_id, "image_id": 7, "category_id": 3, "iscrowd": 0,
                     "segmentation": encode_mask(mask)}
                ],
            }
        )
    )  # fmt: skip
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(source), ""))
    )
    win.files.replace_with_import("coco")  # the default answer is Cancel: nothing happens
    assert "Replace the project?" in answers[0] and len(win.session.doc.annotations()) == 1
    answers[1]["Replace the project?"] = QMessageBox.StandardButton.Yes
    win.files.replace_with_import("coco")

    assert [c.name for c in win.session.doc.categories()] == ["cup"]
    imported = [a.id for a in win.session.doc.annotations()]
    assert len(imported) == 1 and win.session.hidden == set()
    assert closed and win.session.autosaver is not old_autosaver
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    # the old project's undo is gone
    assert [a.id for a in win.session.doc.annotations()] == imported


def test_panels_redraw_only_what_a_change_touched(qtbot, make_window, monkeypatch):
    win, _client = make_window()
    calls = []
    for name, obj, method in (
        ("masks", win.mask_list, "set_rows"),
        ("categories", win.categories, "set_categories"),
        ("images", win.image_list, "set_images"),
        ("committed", win.canvas, "set_committed"),
        ("current", win.canvas, "set_current"),
    ):
        original = getattr(obj, method)
        monkeypatch.setattr(
            obj, method, lambda *a, _o=original, _n=name: (calls.append(_n), _o(*a))[1]
        )
    click(qtbot, win, 200, 150)
    wait_result(qtbot, win)
    assert set(calls) == {"current"}  # a click and its answer: the object in progress only
    calls.clear()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert sorted(set(calls)) == ["committed", "current", "images", "masks"]
    assert calls.count("committed") == 1  # once per command, not once per event
    calls.clear()
    win.session.select(None)
    assert calls == ["committed"]
