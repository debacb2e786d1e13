"""Find (Ctrl+F) in the window with pytest-qt: type a phrase, Enter, review with the slider
and clicks, Enter accepts, Ctrl+Z undoes it in one step; with a fake concept model for speed,
and once with the tiny real SAM 3 in the model thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt

from annotator.engine.concepts.instances import ConceptInstance
from annotator.gui.model.concepts import ConceptClient
from tests.gui.fakes.gestures import click, drag

CTRL = Qt.KeyboardModifier.ControlModifier
SCORES = (0.92, 0.71, 0.35)


class FakeConcepts:
    """Three blobs side by side, their scores fixed; records where it ran."""

    def __init__(self) -> None:
        self.shape = None
        self.queries: list[tuple] = []
        self.threads: set[str] = set()

    def set_image(self, image):
        self.shape = image.shape[:2]
        self.threads.add(threading.current_thread().name)

    def find(self, text=None, exemplar_boxes=(), negative_boxes=(), threshold=0.5):
        self.threads.add(threading.current_thread().name)
        self.queries.append((text, tuple(exemplar_boxes), tuple(negative_boxes)))
        out = []
        for i, score in enumerate(SCORES):
            mask = np.zeros(self.shape, bool)
            x0 = 20 + 100 * i
            mask[40:120, x0 : x0 + 80] = True
            out.append(ConceptInstance(mask, (x0, 40.0, x0 + 80.0, 120.0), score))
        return [i for i in out if i.score > threshold]


def open_find(qtbot, win, phrase):
    qtbot.keyClick(win.canvas, Qt.Key.Key_F, CTRL)
    assert win.find.bar.isVisible() and win.find.bar.edit.hasFocus()
    qtbot.keyClicks(win.find.bar.edit, phrase)
    qtbot.keyClick(win.find.bar.edit, Qt.Key.Key_Return)


def test_find_accept_above_the_slider_then_undo(qtbot, make_window):
    win, _ = make_window()
    fake = FakeConcepts()
    win.find.set_client(ConceptClient(loader=lambda: fake))
    session, doc = win.session, win.session.doc
    dog = doc.add_category("Dog")
    old = doc.add_annotation(
        session.image_id, dog, _square(session.image.shape[:2], 25, 45, 55, 75)
    )

    open_find(qtbot, win, "dog")
    find = win.find.session
    qtbot.waitUntil(lambda: len(find.state.candidates) == 3)
    assert fake.threads and threading.main_thread().name not in fake.threads
    assert [label.textItem.toPlainText() for label in win.find.overlay.labels] == [
        "0.92", "0.71", "0.35"
    ]  # fmt: skip
    assert win.find.bar.count.text() == "2 of 3 kept"  # slider at 0.50

    win.find.bar.slider.setValue(80)
    assert [c.kept for c in find.state.candidates] == [True, False, False]
    click(qtbot, win, 260, 80)  # the third blob: kept by hand
    assert [c.kept for c in find.state.candidates] == [True, False, True]

    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    anns = doc.annotations_for(session.image_id)
    assert len(anns) == 3 and anns[0].id == old and anns[0].area == 900
    new = anns[1:]
    assert [a.provenance["score"] for a in new] == [0.92, 0.35]
    assert all(a.category_id == dog and a.provenance["source"] == "sam3-text" for a in new)
    assert all(a.provenance["phrase"] == "dog" for a in new)
    assert not find.active and win.canvas.tool is not win.find.tool

    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, CTRL)
    assert [a.id for a in doc.annotations_for(session.image_id)] == [old]


def _square(shape, x0, y0, x1, y1):
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_esc_discards_and_exemplar_boxes_query_again(qtbot, make_window):
    win, _ = make_window()
    fake = FakeConcepts()
    win.find.set_client(ConceptClient(loader=lambda: fake))
    qtbot.keyClick(win.canvas, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    assert win.find.bar.exemplar.isChecked() and win.canvas.tool is win.find.tool
    drag(qtbot, win, (20, 40), (100, 120))
    find = win.find.session
    qtbot.waitUntil(lambda: len(find.state.candidates) == 3)
    text, exemplars, negatives = fake.queries[-1]
    assert text is None and len(exemplars) == 1 and negatives == ()
    assert exemplars[0] == pytest.approx((20, 40, 100, 120), abs=1.5)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Escape)
    assert not find.active and win.session.doc.annotations() == []


def test_without_the_weights_find_says_how_to_get_them(qtbot, make_window, monkeypatch):
    from annotator.gui.model.concepts import engine_concept_loader

    monkeypatch.setenv("HF_HUB_CACHE", "/nonexistent/hub-cache")
    win, _ = make_window()
    win.find.set_client(ConceptClient(loader=engine_concept_loader("cpu", "float32")))
    messages = []
    win.status.messageChanged.connect(messages.append)
    open_find(qtbot, win, "dog")
    # the first Ctrl+F imports torch and transformers in the model thread: slow on a busy CPU
    qtbot.waitUntil(lambda: win.find.session.state.waiting is None, timeout=180000)
    assert any("sam3 is not downloaded" in m and "accept its licence" in m for m in messages)
    assert not win.find.session.active and win.session.doc.annotations() == []


def test_find_with_the_tiny_real_sam3(qtbot, make_window):
    pytest.importorskip("transformers")
    from annotator.engine.concepts import ConceptPredictor
    from annotator.gui.session.find import QUERY_FLOOR
    from tests.engine.concepts.sam3_tiny import tiny_model_and_processor

    win, _ = make_window()
    model, processor = tiny_model_and_processor()
    win.find.set_client(ConceptClient(loader=lambda: ConceptPredictor(model, processor)))
    open_find(qtbot, win, "cat")
    find = win.find.session
    qtbot.waitUntil(lambda: find.state.waiting is None, timeout=60000)

    reference = ConceptPredictor(model, processor)
    reference.set_image(win.session.image)
    expected = [i for i in reference.find("cat", threshold=QUERY_FLOOR) if i.mask.any()]
    assert [c.score for c in find.state.candidates] == [i.score for i in expected]
    assert len(expected) > 0
    qtbot.waitUntil(lambda: win.find.bar.accept_all.isEnabled())
    win.find.bar.accept_all.click()
    anns = win.session.doc.annotations_for(win.session.image_id)
    assert len(anns) == len(expected)
    assert win.session.doc.category(anns[0].category_id).name == "cat"
