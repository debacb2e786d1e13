"""Issue 10 item 13, without a window: which export folders could replace the open project."""

from __future__ import annotations

from annotator.gui.session.project_io import export_refusal, folder_is_empty


def test_a_folder_holding_the_project_at_any_depth_is_refused(tmp_path):
    project = tmp_path / "data" / "annotations.json"
    project.parent.mkdir()
    project.write_text("{}")
    assert "annotations.json" in export_refusal(tmp_path / "data", project)
    assert export_refusal(tmp_path, project) is not None  # an ancestor: subfolders too
    (tmp_path / "link").symlink_to(tmp_path / "data")
    assert export_refusal(tmp_path / "link", project) is not None  # the same folder by a link
    assert export_refusal(tmp_path / "data" / "export", project) is None
    assert export_refusal(tmp_path / "data", None) is None  # untitled: no file to protect


def test_folder_is_empty(tmp_path):
    assert folder_is_empty(tmp_path / "missing") and folder_is_empty(tmp_path)
    (tmp_path / "x").write_text("")
    assert not folder_is_empty(tmp_path)
