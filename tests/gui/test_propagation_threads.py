"""While it propagates, the model thread leaves a core and the GIL to the UI thread: each
propagation unit runs with one torch intra-op thread fewer than the cores and a 1 ms GIL switch
interval, both are back after the unit (a click's decode between frames runs as before), and
the UI thread's own thread count is never touched."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
import torch

from annotator.gui.model import cpu_share
from annotator.gui.model.cpu_share import propagation_threads, ui_first
from annotator.gui.model.sequence_worker import PropagationBox, SequenceWorker
from annotator.gui.session.propagation import KeyMask, PropagationJob


@pytest.fixture
def threads_back():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


class ThreadCountingPredictor:
    """Engine-shaped; records (torch's intra-op thread count, the GIL switch interval) in each
    step it is asked for."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.counts: list[tuple[int, float]] = []
        self.fail_at = fail_at

    def init_state(self, frames) -> None:
        self.n = len(frames)

    def reset(self) -> None:
        pass

    def add_mask(self, position, object_id, mask) -> None:
        self.counts.append((torch.get_num_threads(), sys.getswitchinterval()))
        self.shape = mask.shape

    def propagate(self, start, reverse=False):
        for pos in range(start, self.n):
            self.counts.append((torch.get_num_threads(), sys.getswitchinterval()))
            if pos == self.fail_at:
                raise ValueError("the frame could not be read")
            yield pos, [1], np.ones((1, *self.shape), bool)


def job(n: int = 3) -> PropagationJob:
    key = KeyMask(0, 1, np.ones((4, 4), bool))
    return PropagationJob(3, "clip", tuple(f"f{i}.png" for i in range(n)), (key,), 0, (False,))


def test_all_the_cores_but_one_and_never_more_than_before():
    assert propagation_threads(current=8, cores=8) == 7
    assert propagation_threads(current=2, cores=2) == 1
    assert propagation_threads(current=1, cores=1) == 1  # one core: nothing to leave
    assert propagation_threads(current=3, cores=16) == 3  # the user's OMP_NUM_THREADS stays


def test_each_unit_runs_with_a_core_left_and_the_count_comes_back(qtbot, monkeypatch, threads_back):
    monkeypatch.setattr(cpu_share, "usable_cores", lambda: 4)
    torch.set_num_threads(4)
    predictor = ThreadCountingPredictor()
    worker = SequenceWorker(PropagationBox(job=job()), lambda: "model", lambda _m: predictor)
    frames = []
    worker.frameDone.connect(lambda job_id, pos, ids, masks, shown: frames.append(pos))
    seen_between = []
    interval = sys.getswitchinterval()
    for _ in range(5):  # predictor, key mask, frames 0, 1, 2
        worker.pump()
        seen_between.append((torch.get_num_threads(), sys.getswitchinterval()))
    assert frames == [0, 1, 2]
    assert interval > 0.001
    assert predictor.counts == [(3, 0.001)] * 4  # the key mask and every frame
    # between units (a decode, an image switch): as before
    assert seen_between == [(4, interval)] * 5


def test_a_failed_unit_gives_the_threads_back(qtbot, monkeypatch, threads_back):
    monkeypatch.setattr(cpu_share, "usable_cores", lambda: 3)
    torch.set_num_threads(3)
    predictor = ThreadCountingPredictor(fail_at=1)
    worker = SequenceWorker(PropagationBox(job=job()), lambda: "model", lambda _m: predictor)
    failed = []
    worker.failed.connect(lambda job_id, message: failed.append(message))
    for _ in range(4):
        worker.pump()
    assert failed == ["the frame could not be read"]
    assert predictor.counts[-1] == (2, 0.001)
    assert torch.get_num_threads() == 3 and sys.getswitchinterval() > 0.001


def test_the_count_is_the_calling_threads_own(threads_back):
    """What the design relies on: lowering the model thread's count leaves a thread that has
    already run torch (the UI thread here) with its own."""
    torch.set_num_threads(2)
    inside, go_on = threading.Event(), threading.Event()
    seen = {}

    def model_thread():
        torch.set_num_threads(2)
        with ui_first(cores=2) as n:
            seen["inside"] = (n, torch.get_num_threads())
            inside.set()
            go_on.wait(10)
        seen["after"] = torch.get_num_threads()

    t = threading.Thread(target=model_thread)
    t.start()
    assert inside.wait(10)
    ui_count = torch.get_num_threads()
    go_on.set()
    t.join(10)
    assert seen == {"inside": (1, 1), "after": 2}
    assert ui_count == 2
