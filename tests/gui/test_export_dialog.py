"""Issue 10 item 13: the window's export never writes over the open project, asks before
writing into a folder that is not empty (the CLI's --force), and shows the report's notes.
Issue 15 bug 8: its options dialog (format, split, copy images, polygon tolerance, a new folder)
gives a trainable YOLO dataset, and every warning is listed."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

SB = QMessageBox.StandardButton


@pytest.fixture
def shown(monkeypatch):
    infos: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "information", staticmethod(lambda p, t, m, *a, **k: infos.append(m))
    )
    return infos


def _export_into(monkeypatch, win, out, fmt="coco", copy_images=False, split=None):
    from annotator.gui.widgets import export_dialog

    opts = export_dialog.ExportOptions(fmt, out, split, copy_images, 1.0)
    monkeypatch.setattr(export_dialog, "ask_export_options", lambda *a, **k: opts)
    win.files.export_annotations(fmt)


def test_export_into_the_projects_own_folder_is_refused_even_when_confirmed(
    make_window, answers, folder, monkeypatch, shown
):
    asked, replies = answers
    win, _ = make_window()
    assert win.files.save()
    project = folder / "annotations.json"
    before = project.read_bytes()
    replies["Folder not empty"] = SB.Yes
    _export_into(monkeypatch, win, folder, "coco-polygons")
    assert "Export refused" in asked
    assert project.read_bytes() == before


def test_export_into_a_non_empty_folder_asks_first(
    make_window, answers, tmp_path, monkeypatch, shown
):
    asked, replies = answers
    win, _ = make_window()
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _export_into(monkeypatch, win, out)  # the default answer is No
    assert "Folder not empty" in asked and sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    replies["Folder not empty"] = SB.Yes
    _export_into(monkeypatch, win, out)
    assert (out / "annotations.json").exists() and (out / "keep.txt").read_text() == "mine"


def test_export_shows_the_reports_notes(make_window, answers, tmp_path, monkeypatch, shown):
    asked, _ = answers
    win, _ = make_window()
    _export_into(monkeypatch, win, tmp_path / "yolo", "yolo")
    assert "Folder not empty" not in asked  # a new folder needs no question
    assert shown and "note:" in shown[-1]


def _holed_mask(win):
    s = win.session
    mask = np.zeros(s.image.shape[:2], bool)
    mask[50:150, 50:200] = True
    mask[80:120, 100:150] = False  # a hole: YOLO joins it with a bridge, and says so
    return s.doc.add_annotation(s.image_id, s.current_category(), mask)


def test_yolo_export_from_the_app_is_a_trainable_dataset(make_window, tmp_path, monkeypatch, shown):
    from annotator.io.formats.split import parse_split

    win, _ = make_window()
    ann_id = _holed_mask(win)
    out = tmp_path / "datasets" / "cats"
    _export_into(monkeypatch, win, out, "yolo", copy_images=True, split=parse_split("train=1"))
    yaml = (out / "data.yaml").read_text()
    assert "train: train/images" in yaml and '0: "object"' in yaml
    assert (out / "train" / "images" / "chelsea.jpg").is_file()  # data.yaml's images exist
    assert (out / "train" / "labels" / "chelsea.txt").read_text().startswith("0 ")
    assert f"annotation {ann_id}" in shown[-1]  # the warning is listed with its mask


def test_the_options_dialog_checks_and_returns_the_options(qtbot, tmp_path):
    from annotator.gui.widgets.export_dialog import ExportDialog

    dialog = ExportDialog(None, "yolo", tmp_path, "annotations-yolo")
    qtbot.addWidget(dialog)
    assert dialog.copy_images.isChecked() and dialog.tolerance.isEnabled()
    dialog.split.setText("train=0.8,val=0.3")
    dialog.accept()
    assert "add up to 1" in dialog.error.text() and dialog.result() == 0
    dialog.split.setText("train=0.8,val=0.2")
    dialog.tolerance.setValue(2.5)
    dialog.format.setCurrentIndex(dialog.format.findData("png"))
    assert not dialog.tolerance.isEnabled()
    dialog.accept()
    opts = dialog.options()
    assert dialog.result() == 1 and opts.fmt == "png" and opts.tolerance == 2.5
    assert opts.folder == tmp_path / "annotations-png"  # the default name follows the format
    assert opts.split == [("train", 0.8), ("val", 0.2)] and opts.copy_images
