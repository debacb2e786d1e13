"""The sequence flow of issue 13 in the window, end to end with real Qt input: open a video,
mark two objects on the first frame, propagate, fix one frame, propagate again from it, undo
the re-propagation as one step, cancel one (the frames finished so far stay), and export DAVIS
PNGs. The propagation here is a fake in the UI event loop (tests/gui/fakes/propagator.py); the
real model thread and SAM 2.1 network run in test_propagation_engine.py."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from annotator.gui.session.propagation import PROPAGATED_KEY
from annotator.io.formats.export import export_project
from annotator.io.sequence import TRACK_KEY
from tests.gui.fakes.client import FakeClient
from tests.gui.fakes.gestures import click, wait_result
from tests.gui.fakes.propagator import FakePropagator

H, W, FRAMES = 96, 128, 6


def write_video(path, frames=FRAMES):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(frames):
        image = np.full((H, W, 3), 40, np.uint8)
        image[20:50, 10 + 4 * i : 40 + 4 * i] = (30, 180, 220)
        image[60:90, 80:110] = (200, 90, 30)
        writer.write(image)
    writer.release()
    return path


class SequenceFakeClient(FakeClient):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.propagator = FakePropagator()

    def sequence_client(self):
        return self.propagator


@pytest.fixture
def video_window(qtbot, tmp_path, answers):
    from annotator.gui.main_window import MainWindow

    (tmp_path / "videos").mkdir()
    video = write_video(tmp_path / "videos" / "clip.avi")
    client = SequenceFakeClient()
    win = MainWindow(client, autosave_delay_s=0.05)
    qtbot.addWidget(win)
    client.start()
    win.show()
    qtbot.waitExposed(win)
    assert win.sequence.open_video(video)
    qtbot.waitUntil(lambda: win.session.model_name == "fake")
    yield win, client.propagator, tmp_path
    win.session.doc.mark_clean()


def frame_masks(win, position):
    """{track_id: (mask, propagated)} on frame `position`."""
    s = win.session
    image = s.sequence.frames()[position]
    return {
        a.provenance[TRACK_KEY]: (a.mask, bool(a.provenance.get(PROPAGATED_KEY)))
        for a in s.doc.annotations_for(image.id)
    }


def mark(qtbot, win, x, y):
    click(qtbot, win, x, y)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)


def propagate(qtbot, win, key=Qt.Key.Key_T, mods=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(win.canvas, key, mods)
    assert win.session.sequence.running
    qtbot.waitUntil(lambda: not win.session.sequence.running, timeout=10000)


def test_open_mark_propagate_fix_repropagate_undo_and_export_davis(qtbot, video_window):
    win, fake, tmp_path = video_window
    s = win.session
    assert s.current == "clip/00000.jpg" and len(s.sequence.frames()) == FRAMES
    assert win.sequence.slider.slider.maximum() == FRAMES - 1
    assert win.sequence.slider.label.text().startswith("Frame 0")
    mark(qtbot, win, 25, 35)
    mark(qtbot, win, 95, 75)
    first = frame_masks(win, 0)
    assert sorted(first) == [1, 2] and not any(p for _m, p in first.values())

    propagate(qtbot, win)  # T: forward from frame 0
    for pos in range(1, FRAMES):
        masks = frame_masks(win, pos)
        assert sorted(masks) == [1, 2] and all(p for _m, p in masks.values())
        np.testing.assert_array_equal(masks[1][0], np.roll(first[1][0], 3 * pos, axis=1))
    for tid in (1, 2):
        np.testing.assert_array_equal(frame_masks(win, 0)[tid][0], first[tid][0])

    win.sequence.slider.slider.setValue(3)  # the slider moves to frame 3
    assert s.current == "clip/00003.jpg"
    assert win.sequence.slider.label.text().startswith("Frame 3")
    fixed_id = next(a.id for a in s.annotations() if a.provenance[TRACK_KEY] == 1)
    assert s.editor.reopen(fixed_id)  # fix object 1 on frame 3: reopen, erase a strip, Enter
    fixed = s.prompts.current_mask.copy()
    fixed[:, :30] = False
    s.editor.apply_edit(fixed)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert frame_masks(win, 3)[1][1] is False  # hand-edited now
    before = {pos: frame_masks(win, pos) for pos in range(FRAMES)}

    propagate(qtbot, win)  # again, from frame 3
    job = fake.jobs[-1]
    assert job.start == 3 and {(k.position, k.object_id) for k in job.keys} >= {(0, 1), (3, 1)}
    np.testing.assert_array_equal(frame_masks(win, 3)[1][0], fixed)  # the fix is kept
    for pos in (4, 5):  # replaced from the fix
        np.testing.assert_array_equal(
            frame_masks(win, pos)[1][0], np.roll(fixed, 3 * (pos - 3), axis=1)
        )
    for pos in (1, 2):  # before the start: untouched
        np.testing.assert_array_equal(frame_masks(win, pos)[1][0], before[pos][1][0])

    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "Undo: propagate 3 frames" in win.status.currentMessage()
    for pos in (4, 5):  # the whole re-propagation, one step
        np.testing.assert_array_equal(frame_masks(win, pos)[1][0], before[pos][1][0])
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ShiftModifier
                   | Qt.KeyboardModifier.ControlModifier)  # fmt: skip
    np.testing.assert_array_equal(frame_masks(win, 5)[1][0], np.roll(fixed, 6, axis=1))

    out = tmp_path / "davis"
    coco = s.doc.to_coco()
    export_project(coco, s.doc.images_root, out, "davis", copy_images=False)
    pngs = sorted((out / "Annotations" / "clip").glob("*.png"))
    assert len(pngs) == FRAMES
    label = np.asarray(Image.open(pngs[5]))
    np.testing.assert_array_equal(label == 1, frame_masks(win, 5)[1][0])
    np.testing.assert_array_equal(label == 2, frame_masks(win, 5)[2][0])


def test_cancel_keeps_the_frames_finished_so_far_as_one_undo_step(qtbot, video_window):
    win, fake, _tmp = video_window
    s = win.session
    fake._timer.setInterval(40)
    mark(qtbot, win, 25, 35)
    win.sequence.actions["forward"].trigger()
    qtbot.waitUntil(lambda: sum(len(frame_masks(win, p)) for p in range(1, FRAMES)) >= 2)
    assert not win.actions_by_name["undo"].isEnabled()  # its step is not recorded yet
    win.sequence.actions["cancel"].trigger()
    qtbot.waitUntil(lambda: not s.sequence.running)
    kept = [p for p in range(1, FRAMES) if frame_masks(win, p)]
    assert 2 <= len(kept) < FRAMES - 1 and kept == list(range(1, len(kept) + 1))
    assert "cancelled" in win.status.currentMessage()
    assert win.actions_by_name["undo"].isEnabled()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not any(frame_masks(win, p) for p in range(1, FRAMES))
    assert frame_masks(win, 0)  # the hand mask stays


def test_backward_from_the_last_frame_and_refusals(qtbot, video_window):
    win, fake, _tmp = video_window
    s = win.session
    qtbot.keyClick(win.canvas, Qt.Key.Key_T)  # nothing marked yet
    assert not s.sequence.running and "No objects" in win.status.currentMessage()
    win.sequence.slider.slider.setValue(FRAMES - 1)
    click(qtbot, win, 25, 35)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_T)  # object still in progress
    assert not s.sequence.running and "Accept" in win.status.currentMessage()
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    propagate(qtbot, win, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier)
    assert fake.jobs[-1].reverse == (True,)
    assert all(frame_masks(win, p) for p in range(FRAMES))


def test_the_mask_list_shows_the_object_id(qtbot, video_window):
    win, _fake, _tmp = video_window
    mark(qtbot, win, 25, 35)
    mark(qtbot, win, 95, 75)
    texts = [win.mask_list.table.item(r, 1).text() for r in range(2)]
    assert texts == ["#1", "#2"]
