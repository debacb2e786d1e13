"""The window with the real ModelClient (worker thread) and a real Predictor on a tiny random
LiteMedSAM-architecture network: the saved mask equals the predictor's mask for the same prompts,
including the refinement from the previous low-res logits; and the worker-exception path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from annotator.engine import Predictor
from annotator.engine.modeling.sam import ModelSpec, build_model
from annotator.gui.main_window import MainWindow
from annotator.gui.model.client import ModelClient
from tests.gui.fakes.gestures import click, drag

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(0)
    return build_model(ModelSpec.official("lite_medsam")).eval()


@pytest.fixture
def window(qtbot, tmp_path, tiny_model, monkeypatch):
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard)
    )
    shutil.copy(SAMPLES / "chelsea.jpg", tmp_path / "chelsea.jpg")

    def factory():
        return Predictor(tiny_model)

    factory.display_name = "tiny random LiteMedSAM"
    client = ModelClient(predictor_factory=factory)
    win = MainWindow(client)
    qtbot.addWidget(win)
    client.start()
    win.show()
    qtbot.waitExposed(win)
    assert win.open_path(tmp_path)
    qtbot.waitUntil(lambda: win.session.model_name != "", timeout=30000)
    yield win, client, tmp_path
    win.session.doc.mark_clean()
    win.close()
    client.shutdown()


def wait_idle(qtbot, win, client):
    qtbot.waitUntil(lambda: not win.session.editor.decoding and not client.is_busy(), timeout=30000)


def test_saved_mask_equals_the_predictors_for_the_same_prompts(qtbot, window, tiny_model):
    win, client, folder = window
    assert win.tool_name == "box"  # a box model: the window starts on the box tool
    drag(qtbot, win, (120, 40), (330, 250))
    wait_idle(qtbot, win, client)
    win.set_tool("point")
    click(qtbot, win, 200, 120)
    qtbot.waitUntil(lambda: len(win.session.prompts.state.points) == 1)
    wait_idle(qtbot, win, client)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    assert win.session.doc.annotations(), "the random model gave an empty mask"
    assert win.save()

    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    coco = COCO(str(folder / "annotations.json"))
    ann = coco.loadAnns(coco.getAnnIds())[0]
    saved = mask_utils.decode(ann["segmentation"]).astype(bool)

    from annotator.io.images import read_image

    predictor = Predictor(tiny_model)
    predictor.set_image(read_image(folder / "chelsea.jpg"))
    box = np.array(ann["box"], np.float32)
    _, scores, low = predictor.predict(box=box, multimask_output=False)
    masks, _, _ = predictor.predict(
        point_coords=np.array(ann["point_coords"], np.float32),
        point_labels=np.array(ann["point_labels"], np.int32),
        box=box,
        mask_input=low[int(np.argmax(scores))][None],
        multimask_output=False,
    )
    np.testing.assert_array_equal(saved, masks[0])


def test_worker_exception_shows_a_message_and_the_app_keeps_working(
    qtbot, window, tiny_model, monkeypatch
):
    win, client, _ = window
    errors = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda p, t, m, *a: errors.append(m)))
    original = Predictor.predict

    def broken(self, *args, **kwargs):
        monkeypatch.setattr(Predictor, "predict", original)  # fail once
        raise RuntimeError("CUDA out of memory (simulated)")

    monkeypatch.setattr(Predictor, "predict", broken)
    win.session.editor.set_box((120, 40, 330, 250))
    qtbot.waitUntil(lambda: bool(errors), timeout=30000)
    assert "out of memory" in errors[0]
    win.session.editor.set_box((100, 40, 330, 250))
    wait_idle(qtbot, win, client)
    assert win.session.prompts.current_mask is not None
