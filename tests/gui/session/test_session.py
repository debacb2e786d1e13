"""The app session without a window: accept, undo/redo across prompts and annotations,
switching images with an object in progress, delete, categories, and the events it emits."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.gui.session import AppSession
from annotator.gui.session.events import (
    AnnotationsChanged,
    CategoriesChanged,
    CurrentCategoryChanged,
    DecodeRequested,
    ImageChanged,
    Message,
    PromptsChanged,
    SelectionChanged,
)
from annotator.gui.session.project_io import ImageStatus, open_project
from tests.gui.fakes.masks import answer

EVENTS = (
    AnnotationsChanged,
    CategoriesChanged,
    CurrentCategoryChanged,
    DecodeRequested,
    ImageChanged,
    Message,
    PromptsChanged,
    SelectionChanged,
)


class Recorder:
    """Every event the session emits, and a stand-in model answering its decode requests."""

    def __init__(self, session: AppSession) -> None:
        self.session = session
        self.events: list[object] = []
        self.flushes = 0
        for kind in EVENTS:
            session.events.connect(kind, self.events.append)
        session.events.on_flush(self._flushed)

    def _flushed(self) -> None:
        self.flushes += 1

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]

    def answer(self) -> bool:
        """Answer the latest decode request, as the model client would."""
        request = self.of(DecodeRequested)[-1]
        shape = self.session.image.shape[:2]
        masks, scores, low = answer(
            shape, request.points, request.labels, request.box, request.multimask
        )
        return self.session.editor.apply_result(masks, scores, low)


@pytest.fixture
def session(folder):
    s = AppSession(autosave_delay_s=600)
    opened = open_project(folder)
    s.adopt(opened.doc, opened.images)
    assert s.open_image(s.images[0])
    return s


@pytest.fixture
def rec(session):
    return Recorder(session)


def object_at(session, rec, x, y):
    session.editor.add_point(x, y, 1)
    assert rec.answer()


def test_a_click_asks_the_model_and_enter_accepts_its_mask(session, rec):
    session.editor.add_point(200, 150, 1)
    request = rec.of(DecodeRequested)[-1]
    assert request.multimask and request.points.tolist() == [[200, 150]]
    assert session.editor.decoding
    assert session.editor.accept() is None  # no mask yet
    assert "Nothing to accept" in rec.of(Message)[-1].text
    assert rec.answer() and session.prompts.state.chosen == 1  # best score first
    session.editor.add_point(210, 150, 1)
    assert session.editor.accept() is None  # the refined mask is not there yet
    assert rec.answer()
    mask = session.prompts.current_mask.copy()
    rec.events.clear()
    rec.flushes = 0
    ann_id = session.editor.accept()
    ann = session.doc.annotation(ann_id)
    assert ann.image_id == session.image_id and ann.area == mask.sum()
    assert ann.category_id == session.doc.categories()[0].id
    assert ann.provenance["point_labels"] == [1, 1]
    assert session.prompts.is_empty and session.selected == ann_id
    assert rec.of(AnnotationsChanged) == [AnnotationsChanged(frozenset({session.image_id}))]
    assert rec.of(SelectionChanged) == [SelectionChanged(ann_id, frozenset({ann_id}))]
    assert rec.of(PromptsChanged) and rec.flushes == 1  # one command, one redraw
    assert session.doc.dirty
    assert session.editor.accept() is None  # nothing left to accept
    assert "Nothing to accept" in rec.of(Message)[-1].text


def test_undo_and_redo_cross_prompts_and_annotations(session, rec):
    object_at(session, rec, 200, 150)
    object_at(session, rec, 240, 150)
    session.editor.accept()
    assert len(session.doc.annotations()) == 1
    session.undo()  # Enter: the object is back with both points
    assert session.doc.annotations() == [] and len(session.prompts.state.points) == 2
    assert session.selected is None
    session.undo()  # the second click, with its mask, without asking the model
    requests = len(rec.of(DecodeRequested))
    assert len(session.prompts.state.points) == 1 and session.prompts.current_mask is not None
    session.redo()
    session.redo()
    assert len(session.doc.annotations()) == 1 and session.prompts.is_empty
    assert len(rec.of(DecodeRequested)) == requests
    assert session.redo() is None and "Nothing to redo" in rec.of(Message)[-1].text


def test_undo_to_prompts_whose_mask_never_came_asks_again(session, rec):
    session.editor.add_point(200, 150, 1)
    session.editor.add_point(240, 150, 1)  # before the first answer
    rec.answer()
    session.undo()
    assert session.prompts.state.points == ((200.0, 150.0),) and session.editor.decoding
    assert rec.of(DecodeRequested)[-1].points.tolist() == [[200, 150]]


def test_a_brush_edit_while_decoding_is_not_overwritten(session, rec):
    object_at(session, rec, 200, 150)
    session.editor.add_point(240, 150, 1)
    edit = np.zeros(session.image.shape[:2], bool)
    edit[10:20, 10:20] = True
    session.editor.apply_edit(edit)
    assert not rec.answer()  # the answer in flight came too late
    np.testing.assert_array_equal(session.prompts.current_mask, edit)


def test_switching_images_parks_the_object_in_progress(session, rec):
    first, second = session.images
    object_at(session, rec, 200, 150)
    parked = session.prompts.state
    assert session.open_image(second)
    assert session.current == second and session.prompts.is_empty
    assert rec.of(ImageChanged)[-1].name == second
    session.editor.add_point(100, 100, 1)  # left unanswered on the second image
    requests = len(rec.of(DecodeRequested))
    session.open_image(first)
    assert session.prompts.state is parked  # the object and its mask came back
    assert len(rec.of(DecodeRequested)) == requests  # its mask was on screen: no decode
    session.open_image(second)
    assert session.prompts.state.points == ((100.0, 100.0),)
    assert len(rec.of(DecodeRequested)) == requests + 1  # no mask yet: asked again
    assert [status for _, status in session.image_rows()] == [ImageStatus.UNTOUCHED] * 2


def test_undo_is_per_image(session, rec):
    first, second = session.images
    object_at(session, rec, 200, 150)
    session.editor.accept()
    session.open_image(second)
    assert dict(session.image_rows())[first] is ImageStatus.IN_PROGRESS
    assert session.undo() is None  # the commit on the first image stays
    assert len(session.doc.annotations()) == 1
    assert "chelsea.jpg" in rec.of(Message)[-1].text
    session.open_image(first)
    assert session.undo().label == "add mask"  # back there, it is undone with its object
    assert session.doc.annotations() == [] and len(session.prompts.state.points) == 1


def test_delete_and_undo_delete(session, rec):
    object_at(session, rec, 200, 150)
    ann_id = session.editor.accept()
    session.delete_selected()
    assert session.doc.annotations() == [] and session.selected is None
    session.undo()
    assert [a.id for a in session.doc.annotations()] == [ann_id]
    session.select_at(200, 150)
    assert session.selected == ann_id
    session.toggle_hidden(ann_id)
    assert session.annotation_at(200, 150) is None  # hidden masks are not hit
    session.select_at(200, 150)
    assert session.selected is None


def test_categories_current_one_and_changing_an_annotations(session, rec):
    first = session.doc.categories()[0].id
    session.add_category("cat")
    cat = session.doc.category_by_name("cat").id
    assert session.category_id == cat and rec.of(CategoriesChanged)
    assert rec.of(CurrentCategoryChanged)[-1] == CurrentCategoryChanged(cat)
    object_at(session, rec, 200, 150)
    ann_id = session.editor.accept()
    assert session.doc.annotation(ann_id).category_id == cat
    session.set_annotation_category(ann_id, first)
    assert session.doc.annotation(ann_id).category_id == first
    session.undo()
    assert session.doc.annotation(ann_id).category_id == cat
    session.set_category_index(0)
    assert session.category_id == first
    session.set_category_index(5)  # no sixth category: nothing happens
    assert session.category_id == first
    session.rename_category(cat, "object")  # a duplicate name: refused with a message
    assert "object" in rec.of(Message)[-1].text and session.doc.category(cat).name == "cat"


def test_undo_of_the_only_category_recreates_the_default_on_accept(folder):
    from annotator.io.document import Document

    s = AppSession(autosave_delay_s=600)
    doc = Document(images_root=folder, path=folder / "p.json", categories=[])
    s.adopt(doc, ["chelsea.jpg"])
    s.open_image("chelsea.jpg")
    rec = Recorder(s)
    object_at(s, rec, 200, 150)
    ann_id = s.editor.accept()
    assert [c.name for c in doc.categories()] == ["object"]
    assert doc.annotation(ann_id).category_id == doc.categories()[0].id
    s.undo()  # the commit
    s.undo()  # the recreated category, its own step
    assert doc.categories() == [] and len(s.prompts.state.points) == 1


def test_adopting_a_project_forgets_the_previous_one(session, rec, folder):
    object_at(session, rec, 200, 150)
    session.editor.accept()
    session.toggle_hidden(session.selected)
    opened = open_project(folder)
    session.adopt(opened.doc, opened.images)
    assert session.current is None and session.hidden == set() and session.selected is None
    assert session.undo() is None


def test_an_unreadable_image_is_marked_and_skipped_by_next_and_previous(folder):
    """Issue 10 item 17: D past a corrupt image used to stop at it, re-showing the error."""
    from annotator.io.images import ImageReadError

    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    s = AppSession(autosave_delay_s=600)
    opened = open_project(folder)
    s.adopt(opened.doc, opened.images)
    assert s.images == ["broken.jpg", "chelsea.jpg", "coffee.jpg"]
    assert s.open_image("chelsea.jpg")
    with pytest.raises(ImageReadError):
        s.open_image("broken.jpg")
    assert s.current == "chelsea.jpg"  # nothing changed
    assert dict(s.image_rows())["broken.jpg"] is ImageStatus.UNREADABLE
    assert s.neighbour(-1) is None  # A: nothing readable before chelsea
    assert s.open_image("coffee.jpg")
    assert s.neighbour(-1) == "chelsea.jpg"
    (folder / "broken.jpg").write_bytes((folder / "chelsea.jpg").read_bytes())  # mended
    assert s.open_image("broken.jpg")
    assert dict(s.image_rows())["broken.jpg"] is ImageStatus.UNTOUCHED


def test_an_image_whose_file_is_not_the_declared_size_is_refused_naming_both(folder):
    """Issue 10 item 10: the masks of a mis-sized record would be misaligned."""
    from annotator.io.images import ImageSizeMismatchError

    s = AppSession(autosave_delay_s=600)
    opened = open_project(folder)
    opened.doc.add_image("chelsea.jpg", 300, 451)  # the file is 451 x 300
    s.adopt(opened.doc, opened.images)
    with pytest.raises(ImageSizeMismatchError, match=r"300x451.*451x300|451x300.*300x451"):
        s.open_image("chelsea.jpg")
    assert s.current is None and s.neighbour(1) == "coffee.jpg"


def test_a_symlinked_image_inside_the_folder_opens_and_one_leading_out_is_left_out(
    folder, tmp_path_factory
):
    """Issue 10 item 16: one link used to make the whole folder refuse to open."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "secret.jpg").write_bytes((folder / "coffee.jpg").read_bytes())
    (folder / "cat.jpg").symlink_to(folder / "chelsea.jpg")  # a second name, inside
    (folder / "outside.jpg").symlink_to(elsewhere / "secret.jpg")
    opened = open_project(folder)
    assert opened.escaping_links == ["outside.jpg"]
    assert opened.images == ["cat.jpg", "chelsea.jpg", "coffee.jpg"]  # the link keeps its name
    linked = open_project(folder / "cat.jpg")  # opening the link itself
    assert linked.first == "cat.jpg"
    s = AppSession(autosave_delay_s=600)
    s.adopt(linked.doc, linked.images)
    assert s.open_image("cat.jpg") and s.image.shape == (300, 451, 3)
