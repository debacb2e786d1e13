"""The undo journal: prompt snapshots and document commands in one order, per image."""

from dataclasses import dataclass

import numpy as np

from annotator.gui.session.journal import JOURNAL_LIMIT, Blocked, DocStep, Journal, PromptStep
from annotator.gui.session.prompt_state import PromptSession
from annotator.io.document import Document


def result(h=40, w=60, c=3, best=1):
    masks = np.zeros((c, h, w), bool)
    for i in range(c):
        masks[i, : 10 * (i + 1)] = True
    scores = np.linspace(0.5, 0.6, c).astype(np.float32)
    scores[best] = 0.99
    low = np.stack([np.full((256, 256), float(i), np.float32) for i in range(c)])
    return masks, scores, low


@dataclass(frozen=True)
class Cmd:
    label: str = "cmd"
    images: frozenset = frozenset()

    def image_ids(self):
        return self.images


class FakeDoc:
    def __init__(self):
        self.log = []

    def revert_step(self, command):
        self.log.append("undo")

    def apply_step(self, command):
        self.log.append("redo")


def test_journal_undoes_prompts_and_commits_in_order():
    s, doc = PromptSession(), FakeDoc()
    h = Journal(s)
    h.record_prompt()
    s.add_point(1, 1, 1)
    s.apply_result(*result())
    h.record_prompt()
    s.add_point(2, 2, 0)
    committed = s.state
    with h.carrying(committed):
        h.record_command(Cmd("add mask"))  # Enter committed it
    s.clear()
    assert isinstance(h.undo(doc), DocStep) and doc.log == ["undo"]
    assert s.state is committed  # the object is back on the canvas
    assert isinstance(h.undo(doc), PromptStep) and s.state.points == ((1.0, 1.0),)
    assert s.state.candidates is not None  # its result came back with it, no re-decode
    assert isinstance(h.redo(doc), PromptStep) and len(s.state.points) == 2
    assert isinstance(h.redo(doc), DocStep) and doc.log == ["undo", "redo"] and s.is_empty
    assert h.redo(doc) is None


def test_journal_keeps_at_most_its_limit_of_steps():
    s, doc = PromptSession(), FakeDoc()
    h = Journal(s)
    for _ in range(JOURNAL_LIMIT + 5):
        h.record_command(Cmd())
    undone = 0
    while h.undo(doc) is not None:
        undone += 1
    assert undone == JOURNAL_LIMIT and doc.log.count("undo") == JOURNAL_LIMIT


def test_a_document_with_a_recorder_keeps_no_stack_of_its_own():
    s = PromptSession()
    h = Journal(s)
    doc = Document()
    doc.set_recorder(h.record_command)
    cat = doc.add_category("cat")
    with doc.batch("two renames"):
        doc.rename_category(cat, "kitten")
        doc.recolor_category(cat, "#00ff00")
    assert not doc.can_undo and h.can_undo
    h.undo(doc)  # the batch is one step
    assert doc.category(cat).name == "cat" and doc.dirty
    h.undo(doc)
    assert doc.category_by_name("cat") is None
    h.redo(doc)
    h.redo(doc)
    assert doc.category(cat).name == "kitten"


def on(image_id, label="add mask"):
    return Cmd(label, frozenset({image_id}))


def test_undo_takes_the_latest_step_of_the_image_shown():
    s, doc = PromptSession(), FakeDoc()
    h = Journal(s)
    h.scope = 1
    h.record_command(on(1, "add mask on 1"))
    h.scope = 2
    h.record_command(on(2, "add mask on 2"))
    h.scope = 1
    assert h.undo(doc).label == "add mask on 1"
    assert h.undo(doc) is None and h.elsewhere() == {2}
    h.scope = 2
    assert h.redo(doc) is None  # image 1's undone step is redone on image 1 only
    assert h.undo(doc).label == "add mask on 2"
    h.scope = 1
    assert h.redo(doc).label == "add mask on 1"


def test_a_project_wide_step_is_a_barrier_for_other_images_later_steps():
    s, doc = PromptSession(), FakeDoc()
    h = Journal(s)
    h.scope = 1
    h.record_command(on(1, "add mask on 1"))
    h.record_command(Cmd("add category cat"))  # no image: project-wide
    h.scope = 2
    h.record_command(on(2, "add mask on 2"))  # may use the new category
    h.scope = 1
    blocked = h.undo(doc)
    assert isinstance(blocked, Blocked) and blocked.later == {2}
    assert blocked.step.label == "add category cat" and doc.log == []
    h.scope = 2
    assert h.undo(doc).label == "add mask on 2"
    assert h.undo(doc).label == "add category cat"  # now on top: undone from any image
    h.scope = 1
    assert h.undo(doc).label == "add mask on 1"


def test_a_new_step_drops_only_its_own_images_redo():
    s, doc = PromptSession(), FakeDoc()
    h = Journal(s)
    h.scope = 1
    h.record_command(on(1))
    h.scope = 2
    h.record_command(on(2))
    h.undo(doc)
    h.scope = 1
    h.undo(doc)
    h.record_command(on(1, "another"))
    assert h.redo(doc) is None
    h.scope = 2
    assert h.redo(doc) is not None
