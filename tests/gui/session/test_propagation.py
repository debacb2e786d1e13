"""The session's propagation rules without Qt or a model: which masks steer a job, which masks
its frames may replace, and that the whole propagation is one undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from annotator.gui.session import AppSession
from annotator.gui.session.propagation import PROPAGATED_KEY
from annotator.io.document import Document
from annotator.io.sequence import TRACK_KEY

H, W, N = 24, 32, 4


def box(x: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[5:15, x : x + 8] = True
    return m


@pytest.fixture
def session(tmp_path):
    (tmp_path / "clip").mkdir()
    doc = Document(tmp_path, categories=["thing"])
    names = []
    for i in range(N):
        name = f"clip/{i:05d}.png"
        Image.fromarray(np.full((H, W, 3), 10 * i, np.uint8)).save(tmp_path / name)
        doc.add_image(name, W, H, video="clip", frame_index=i)
        names.append(name)
    doc.mark_clean()
    s = AppSession(autosave_delay_s=60)
    s.adopt(doc, names)
    s.open_image(names[0])
    return s


def accept(s: AppSession, mask: np.ndarray) -> int:
    s.editor.apply_edit(mask)
    return s.editor.accept()


def tracks(s: AppSession, position: int) -> dict[int, tuple[int, bool]]:
    """{track_id: (mask's left column, propagated)} on frame `position`."""
    image = s.sequence.frames()[position]
    return {
        a.provenance[TRACK_KEY]: (
            int(np.argmax(a.mask.any(0))),
            bool(a.provenance.get(PROPAGATED_KEY)),
        )
        for a in s.doc.annotations_for(image.id)
    }


def run(s: AppSession, way: str = "forward", replace_edited: bool = False, step: int = 2):
    job, categories = s.sequence.plan(way, replace_edited)
    s.sequence.begin(job, categories)
    for reverse in job.reverse:
        order = range(job.start, -1, -1) if reverse else range(job.start, N)
        for pos in order:
            ids = sorted({k.object_id for k in job.keys})
            masks = np.stack([box(2 + step * pos + 4 * (i - 1)) for i in ids])
            s.sequence.apply_frame(job.job_id, pos, ids, masks)
    s.sequence.finish(job.job_id)
    return job


def test_new_objects_get_track_ids_and_propagation_keeps_hand_masks(session):
    s = session
    accept(s, box(2))
    accept(s, box(20))
    assert tracks(s, 0) == {1: (2, False), 2: (20, False)}
    job = run(s)
    assert [(k.position, k.object_id) for k in job.keys] == [(0, 1), (0, 2)]
    assert tracks(s, 0) == {1: (2, False), 2: (20, False)}  # the hand masks stay
    assert tracks(s, 3) == {1: (8, True), 2: (12, True)}
    s.undo()  # one step: every propagated frame goes
    assert all(not tracks(s, p) for p in (1, 2, 3)) and len(tracks(s, 0)) == 2
    s.redo()
    assert tracks(s, 3) == {1: (8, True), 2: (12, True)}


def test_a_fixed_frame_steers_and_is_never_replaced_unless_asked(session):
    s = session
    accept(s, box(2))
    run(s)
    s.open_image(s.sequence.go_to(2))
    ann = s.annotations()[0]
    s.editor.reopen(ann.id)
    s.editor.apply_edit(box(0))
    s.editor.accept()
    assert tracks(s, 2) == {1: (0, False)}
    s.open_image(s.sequence.go_to(1))
    job = run(s, step=3)
    assert {(k.position, k.object_id) for k in job.keys} == {(0, 1), (1, 1), (2, 1)}
    assert tracks(s, 2) == {1: (0, False)} and tracks(s, 3) == {1: (11, True)}
    job = run(s, replace_edited=True, step=3)
    assert [(k.position, k.object_id) for k in job.keys] == [(1, 1)]
    assert tracks(s, 2) == {1: (8, True)}
    assert tracks(s, 0) == {1: (2, False)}  # before the start: not in the job


def test_refusals_and_a_late_frame_of_a_cancelled_job(session):
    s = session
    with pytest.raises(ValueError, match="No objects"):
        s.sequence.plan()
    s.editor.apply_edit(box(2))
    with pytest.raises(ValueError, match="Accept"):
        s.sequence.plan()
    s.editor.accept()
    job, cats = s.sequence.plan("both")
    assert job.total == N + 1
    s.sequence.begin(job, cats)
    with pytest.raises(ValueError, match="running"):
        s.sequence.plan()
    s.sequence.apply_frame(job.job_id, 1, [1], box(4)[None])
    s.sequence.finish(job.job_id, cancelled=True)
    s.sequence.apply_frame(job.job_id, 2, [1], box(6)[None])  # arrived after: dropped
    assert tracks(s, 1) == {1: (4, True)} and not tracks(s, 2)
