"""Segment everything in the real model worker, with the bundled LiteMedSAM: it runs off the UI
thread on the embedding clicks use, reports progress, says the model is box-only, and a
cancelled or superseded run delivers nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator.engine import Predictor, load_model
from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.client import ModelClient
from annotator.io.images import read_image

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "chelsea.jpg"


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture
def client(qtbot, model):
    c = ModelClient(lambda: Predictor(model), cache=EmbeddingCache())
    with qtbot.waitSignal(c.modelLoaded, timeout=60_000):
        c.start()
    with qtbot.waitSignal(c.imageReady, timeout=120_000):
        c.open_image(str(SAMPLE), read_image(SAMPLE))
    yield c
    assert c.shutdown(60)


def test_everything_runs_in_the_worker_with_progress_and_the_box_only_warning(qtbot, client):
    progress: list[tuple[int, int]] = []
    client.everythingProgress.connect(lambda d, t: progress.append((d, t)))
    with qtbot.waitSignal(client.everythingReady, timeout=120_000) as got:
        client.request_everything(points_per_side=2)
        assert client.everything_running and client.is_busy()  # returned at once
    result = got.args[0]
    assert result.image_key == str(SAMPLE)
    assert result.masks.dtype == bool and result.masks.shape[1:] == (300, 451)
    assert len(result.scores) == len(result.masks)
    assert "box prompts" in result.warning
    assert progress[0] == (0, 4) and progress[-1] == (4, 4)
    assert not client.everything_running


def test_a_cancelled_run_delivers_nothing(qtbot, client):
    got: list = []
    client.everythingReady.connect(got.append)
    client.request_everything(points_per_side=4)
    client.cancel_everything()
    assert not client.everything_running
    qtbot.waitUntil(lambda: not client.is_busy(), timeout=120_000)
    qtbot.wait(200)
    assert got == []
