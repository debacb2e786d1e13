"""The sequence flow with the real model thread: ModelClient's worker thread runs a seeded
random-weight SAM 2.1 Hiera-T network (128-pixel inputs for speed) for the clicks, and the
SequenceWorker beside it propagates with the engine's SequencePredictor. What the window
writes on every frame must be what the engine answers for the same key masks, for the first
propagation and for the re-propagation from a fixed frame; the UI thread keeps running while
the model thread works."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from annotator.engine import Predictor
from annotator.engine.sequence import SequencePredictor
from annotator.gui.main_window import MainWindow
from annotator.gui.model.client import ModelClient
from annotator.gui.model.sequence_worker import FileFrames
from annotator.gui.session.propagation import PROPAGATED_KEY
from annotator.io.sequence import TRACK_KEY
from tests.gui.fakes.gestures import click
from tests.gui.test_propagation import FRAMES, write_video

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sam2_tiny():
    from annotator.engine.modeling.sam2 import SAM2_CONFIGS
    from annotator.engine.weights.load import build_network
    from tests.engine.oracles import perturb_

    torch.manual_seed(0)
    net = perturb_(build_network(SAM2_CONFIGS["sam2.1_hiera_t"]), seed=1).eval()
    net.set_image_size(128)
    return net


@pytest.fixture
def window(qtbot, tmp_path, sam2_tiny, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: None))

    def factory():
        return Predictor(sam2_tiny)

    factory.display_name = "tiny random SAM 2.1"
    client = ModelClient(predictor_factory=factory, background_prefetch=False)
    win = MainWindow(client)
    qtbot.addWidget(win)
    client.start()
    win.show()
    qtbot.waitExposed(win)
    (tmp_path / "videos").mkdir()
    assert win.sequence.open_video(write_video(tmp_path / "videos" / "clip.avi"))
    qtbot.waitUntil(lambda: win.session.model_name != "", timeout=60000)
    jobs = []
    real = win.sequence.client.propagate
    monkeypatch.setattr(win.sequence.client, "propagate", lambda job: (jobs.append(job), real(job)))
    yield win, client, jobs
    win.session.doc.mark_clean()
    win.close()
    client.shutdown()


def accept_click(qtbot, win, client, x, y):
    click(qtbot, win, x, y)
    qtbot.waitUntil(lambda: not win.session.editor.decoding and not client.is_busy(), timeout=60000)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)


def propagate_watching_the_ui(qtbot, win) -> float:
    """Press T and wait for the end; returns the longest gap between 5 ms UI ticks (s)."""
    gaps, last = [0.0], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=5, timeout=tick)
    timer.start()
    qtbot.keyClick(win.canvas, Qt.Key.Key_T)
    assert win.session.sequence.running
    qtbot.waitUntil(lambda: not win.session.sequence.running, timeout=120000)
    timer.stop()
    return max(gaps)


def engine_answer(model, job) -> dict[int, dict[int, np.ndarray]]:
    """{position: {object id: mask}} from the engine for the job's key masks."""
    predictor = SequencePredictor(model)
    predictor.init_state(FileFrames(job.frame_paths))
    for key in job.keys:
        predictor.add_mask(key.position, key.object_id, key.mask)
    out = {}
    for reverse in job.reverse:
        for pos, ids, masks in predictor.propagate(job.start, reverse=reverse):
            out[pos] = dict(zip(ids, masks, strict=True))
    return out


def check_against_engine(win, model, job) -> int:
    """Every propagated mask the window wrote equals the engine's; returns how many."""
    s, checked = win.session, 0
    frames = s.sequence.frames()
    expected = engine_answer(model, job)
    for pos, by_object in expected.items():
        written = {a.provenance[TRACK_KEY]: a for a in s.doc.annotations_for(frames[pos].id)}
        for object_id, mask in by_object.items():
            ann = written.get(object_id)
            if ann is None or not ann.provenance.get(PROPAGATED_KEY):
                assert ann is not None or not mask.any(), (pos, object_id)
                continue
            inter = np.logical_and(ann.mask, mask).sum()
            union = np.logical_or(ann.mask, mask).sum()
            assert union == 0 or inter / union >= 0.99, (pos, object_id, inter / union)
            checked += 1
    return checked


def test_propagate_fix_and_repropagate_with_the_real_model_thread(qtbot, window, sam2_tiny):
    win, client, jobs = window
    s = win.session
    accept_click(qtbot, win, client, 25, 35)
    accept_click(qtbot, win, client, 95, 75)
    assert [a.provenance[TRACK_KEY] for a in s.annotations()] == [1, 2]

    stall = propagate_watching_the_ui(qtbot, win)
    assert f"Propagated {FRAMES} frame(s)" in win.status.currentMessage()
    assert check_against_engine(win, sam2_tiny, jobs[-1]) > 0
    print(f"longest UI stall during the propagation: {stall * 1000:.0f} ms")

    win.sequence.slider.slider.setValue(3)
    ann = next(a for a in s.annotations() if a.provenance[TRACK_KEY] == 2)
    assert ann.provenance[PROPAGATED_KEY]
    s.editor.reopen(ann.id)
    fixed = np.zeros_like(s.prompts.current_mask)
    fixed[60:90, 80:110] = True
    s.editor.apply_edit(fixed)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    propagate_watching_the_ui(qtbot, win)
    job = jobs[-1]
    assert job.start == 3 and any(k.position == 3 and k.object_id == 2 for k in job.keys)
    frame3 = s.doc.annotations_for(s.sequence.frames()[3].id)  # the canvas followed it on
    fixed_now = next(a for a in frame3 if a.provenance[TRACK_KEY] == 2)
    np.testing.assert_array_equal(fixed_now.mask, fixed)  # the hand fix is kept
    assert check_against_engine(win, sam2_tiny, job) > 0
