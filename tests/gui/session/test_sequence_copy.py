"""Ctrl+Shift+V on a video (SelectionCommands.copy_to_next): a mask copied to the next frame
continues its object's track, so the copy is the same object there (and steers a propagation
from that frame); a track that is already on the next frame gets no second mask with its id."""

from __future__ import annotations

from annotator.gui.session.propagation import PROPAGATED_KEY
from annotator.io.sequence import TRACK_KEY
from tests.gui.session.test_propagation import accept, box, session, tracks  # noqa: F401


def test_a_copy_to_the_next_frame_keeps_its_track_id(session):  # noqa: F811
    s = session
    first, second = accept(s, box(2)), accept(s, box(20))
    s.selecting.set([first, second])
    assert s.selecting.copy_to_next()
    assert s.sequence.position() == 1  # the next frame is shown, with both objects
    assert tracks(s, 1) == {1: (2, False), 2: (20, False)}  # hand masks: they steer
    copy_of_1 = next(a for a in s.annotations() if a.provenance[TRACK_KEY] == 1)
    s.selecting.set([copy_of_1.id])
    assert s.selecting.copy_to_next()
    assert tracks(s, 2) == {1: (2, False)}
    job, _ = s.sequence.plan("forward")
    assert {(k.position, k.object_id) for k in job.keys} == {(0, 1), (0, 2), (1, 1), (1, 2),
                                                             (2, 1)}  # fmt: skip
    s.undo()  # the copy, one step
    assert tracks(s, 2) == {}


def test_a_track_already_on_the_next_frame_makes_the_copy_a_new_object(session):  # noqa: F811
    s = session
    first = accept(s, box(2))
    s.selecting.set([first])
    assert s.selecting.copy_to_next()
    s.open_image(s.sequence.frames()[0].file_name)
    s.selecting.set([first])
    assert s.selecting.copy_to_next()  # frame 1 has object 1 already
    assert tracks(s, 1) == {1: (2, False), 2: (2, False)}
    assert not any(a.provenance.get(PROPAGATED_KEY) for a in s.annotations())
