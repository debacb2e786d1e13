"""Issue 10 item 13: the window's export never writes over the open project, asks before
writing into a folder that is not empty (the CLI's --force), and shows the report's notes."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

SB = QMessageBox.StandardButton


@pytest.fixture
def shown(monkeypatch):
    infos: list[str] = []
    monkeypatch.setattr(
        QMessageBox, "information", staticmethod(lambda p, t, m, *a, **k: infos.append(m))
    )
    return infos


def _export_into(monkeypatch, win, out, fmt="coco"):
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
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
