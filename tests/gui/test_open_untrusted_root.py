"""A project that records its images outside its own folder opens only once the user says
where the images are (issue 10 item 7: paths in a file are data, not a choice)."""

from __future__ import annotations

from annotator.gui.widgets import dialogs
from annotator.io.coco_store import save_project
from annotator.io.document import Document


def _project_beside_the_photos(folder):
    """folder/ holds the photos; folder/work/annotations.json records images_root '..'."""
    doc = Document(images_root=folder, path=folder / "work" / "annotations.json")
    doc.add_image("chelsea.jpg", 451, 300)
    (folder / "work").mkdir()
    return save_project(doc)


def test_the_user_confirms_the_recorded_folder_and_the_images_open(
    qtbot, make_window, folder, monkeypatch
):
    project = _project_beside_the_photos(folder)
    asked = []

    def ask(parent, path, recorded):
        asked.append((path, recorded))
        return recorded

    monkeypatch.setattr(dialogs, "ask_images_root", ask)
    win, _ = make_window()
    assert win.open_path(project)
    assert asked == [(project, folder)]
    assert win.session.doc.images_root == folder.resolve()
    assert win.session.current == "chelsea.jpg" and win.session.image is not None


def test_declining_leaves_the_open_project_as_it_was(qtbot, make_window, folder, monkeypatch):
    project = _project_beside_the_photos(folder)
    monkeypatch.setattr(dialogs, "ask_images_root", lambda *a: None)
    win, _ = make_window()
    before = win.session.doc
    assert not win.open_path(project)
    assert win.session.doc is before
    assert "no images folder chosen" in win.status.currentMessage()


def test_an_images_root_given_on_the_command_line_is_used_without_asking(
    qtbot, make_window, folder, monkeypatch
):
    project = _project_beside_the_photos(folder)
    monkeypatch.setattr(
        dialogs, "ask_images_root", lambda *a: (_ for _ in ()).throw(AssertionError)
    )
    win, _ = make_window()
    assert win.open_path(project, images_root=folder)
    assert win.session.doc.images_root == folder.resolve()
