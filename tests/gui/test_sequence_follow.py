"""The canvas follows a propagation frame by frame (issue 13: "the canvas shows results as they
arrive") without asking the model to encode the frames it shows while the propagation runs; the
frame shown is handed to the model when it ends, or on a click. Following is on by default,
can be turned off, and stops when the user takes over (another frame, an object started)."""

from __future__ import annotations

import numpy as np
import pytest

import annotator.gui.session.session as session_module
from annotator.gui.session.events import ImageChanged
from tests.gui.fakes.gestures import click, wait_result
from tests.gui.test_propagation import FRAMES, frame_masks, video_window  # noqa: F401


@pytest.fixture
def watched(video_window):  # noqa: F811
    """(window, step, encodes): step() delivers the propagation's next frame (the fake's timer
    is stopped, so arrivals are the test's); encodes: each open_image the window sends, as
    (frame position, propagation running?)."""
    win, fake, _tmp = video_window
    s = win.session
    sent: list[tuple[int, bool]] = []
    real = win.client.open_image

    def open_image(key, image):
        names = [f.file_name for f in s.sequence.frames()]
        position = next(i for i, name in enumerate(names) if key.endswith(name))
        sent.append((position, s.sequence.running))
        real(key, image)

    def start() -> None:
        win.sequence.actions["forward"].trigger()
        fake._timer.stop()

    win.client.open_image = open_image
    return win, start, fake._tick, sent


def shown(win) -> int | None:
    return win.session.sequence.position()


def mark(qtbot, win, x, y) -> None:
    """Click an object and accept it (Enter's command: a key needs the window active, which
    an offscreen window under load may not be yet)."""
    click(qtbot, win, x, y)
    wait_result(qtbot, win)
    assert win.accept() is not None


def follow_to(qtbot, watched, frames: int) -> None:
    """Mark an object, propagate, and deliver frames 0 .. frames - 1, each shown as it comes."""
    win, start, step, sent = watched
    mark(qtbot, win, 25, 35)
    sent.clear()
    start()
    for position in range(frames):
        step()
        qtbot.waitUntil(lambda p=position: shown(win) == p)


def run_out(qtbot, win, step, frames: int) -> None:
    """Deliver the last `frames` frames and the end."""
    for _ in range(frames + 1):
        step()
        qtbot.wait(5)
    qtbot.waitUntil(lambda: not win.session.sequence.running)


def test_the_canvas_shows_each_frame_as_it_arrives_and_encodes_only_at_the_end(qtbot, watched):
    win, start, step, sent = watched
    s = win.session
    mark(qtbot, win, 25, 35)
    sent.clear()
    switches = []
    s.events.connect(ImageChanged, lambda _e: switches.append(shown(win)))
    start()
    for position in range(FRAMES):  # each frame is shown with its mask as it comes
        step()
        qtbot.waitUntil(lambda p=position: shown(win) == p and not win.view._stale)
        assert s.sequence.running
        assert win.canvas._raw is s.image
        assert win.mask_list.table.rowCount() == 1 == len(frame_masks(win, position))
        assert not win.canvas.committed_path.path().isEmpty()
        assert win.sequence.slider.label.text().startswith(f"Frame {position}")
    assert switches == list(range(1, FRAMES)) and sent == []  # no encode while it runs
    step()  # the end
    qtbot.waitUntil(lambda: not s.sequence.running)
    assert sent == [(FRAMES - 1, False)]  # the frame shown, once it ended
    click(qtbot, win, 40, 35)  # clicks work on it
    wait_result(qtbot, win)
    assert win.client.key == s.image_key


def test_the_frame_shown_is_the_one_the_worker_read_with_its_masks(qtbot, watched, monkeypatch):
    """Following reads no frame file and decodes no RLE on the UI thread: the canvas shows
    the pixels and the masks that came with the result."""
    win, start, step, _sent = watched
    fake = win.client.propagator
    s = win.session
    mark(qtbot, win, 25, 35)
    reads = []
    real_read = session_module.read_image
    monkeypatch.setattr(
        session_module, "read_image", lambda *a, **k: reads.append(a[0]) or real_read(*a, **k)
    )
    start()
    for position in range(FRAMES):
        step()
        qtbot.waitUntil(lambda p=position: shown(win) == p and not win.view._stale)
        if not position:  # frame 0 was on the canvas already, its hand-made mask kept
            continue
        result = fake.shown[position]
        assert win.canvas._raw is result.image and s.image is result.image
        (ann,) = s.annotations()
        assert np.shares_memory(s.masks.mask(ann), result.masks)  # not decoded from its RLE
        assert np.array_equal(s.masks.mask(ann), ann.mask)  # ...and what the project holds
    assert reads == [] and fake.reads == FRAMES  # each frame read once, by the worker


def test_frames_arriving_together_are_shown_once_as_the_newest(qtbot, watched):
    win, start, step, _sent = watched
    s = win.session
    mark(qtbot, win, 25, 35)
    switches, overlays = [], []
    s.events.connect(ImageChanged, lambda _e: switches.append(shown(win)))
    real_committed = win.canvas.set_committed
    win.canvas.set_committed = lambda layers: overlays.append(shown(win)) or real_committed(layers)
    start()
    for _ in range(4):  # frames 0-3, before the UI gets to show any
        step()
    qtbot.waitUntil(lambda: shown(win) == 3)
    qtbot.wait(50)
    assert switches == [3] and all(frame_masks(win, p) for p in range(4))
    assert overlays == [3]  # no overlay is built for the frames never shown


def test_following_can_be_turned_off(qtbot, watched):
    win, start, step, sent = watched
    s = win.session
    mark(qtbot, win, 25, 35)
    sent.clear()
    win.sequence.actions["follow"].trigger()  # off
    assert not s.sequence.follow.enabled
    start()
    run_out(qtbot, win, step, FRAMES)
    assert shown(win) == 0 and sent == []
    assert all(frame_masks(win, p) for p in range(FRAMES))


def test_the_user_takes_over_and_a_click_meanwhile_is_encoded_on_demand(qtbot, watched):
    win, _start, step, sent = watched
    s = win.session
    follow_to(qtbot, watched, 4)
    win.sequence.slider.slider.setValue(1)  # back to frame 1 while it runs
    assert "stays on this frame" in win.status.currentMessage() and sent == []
    click(qtbot, win, 95, 75)  # an object on frame 1: encoded now, for this click
    wait_result(qtbot, win)
    assert sent == [(1, True)] and win.client.key == s.image_key
    run_out(qtbot, win, step, FRAMES - 4)
    assert shown(win) == 1 and sent == [(1, True)]  # stayed; nothing more to encode
    assert all(frame_masks(win, p) for p in range(1, FRAMES))
    win.accept()
    assert len(frame_masks(win, 1)) == 2


def test_an_object_started_on_the_frame_shown_stops_the_following(qtbot, watched):
    win, _start, step, sent = watched
    s = win.session
    follow_to(qtbot, watched, 3)
    click(qtbot, win, 95, 75)  # the user starts an object where the canvas is
    wait_result(qtbot, win)
    assert sent == [(2, True)]  # encoded for the click
    run_out(qtbot, win, step, FRAMES - 3)
    assert shown(win) == 2 and s.prompts.current_mask is not None  # the object stays


def test_starting_a_propagation_does_not_resize_the_canvas(qtbot, watched):
    """The progress and busy bars keep their place while hidden: showing them would re-lay
    out the window and repaint the whole frame just as the propagation starts."""
    win, start, step, _sent = watched
    mark(qtbot, win, 25, 35)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(20)
    size = win.canvas.size()
    start()
    step()
    qtbot.waitUntil(lambda: shown(win) == 0 and win.sequence.slider.bar.isVisible())
    qtbot.wait(20)
    assert win.status.busy.isVisible() and win.canvas.size() == size
