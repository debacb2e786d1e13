"""Issue 10 item 3 (app side): a mask the model made records its predicted IoU and SAM's
stability score when it is accepted; a brush edit of it keeps them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotator.engine.amg.mask_ops import stability_score as engine_stability_score
from annotator.gui.session import AppSession
from annotator.gui.session.events import DecodeRequested
from annotator.gui.session.project_io import open_project
from annotator.gui.session.prompt_state import stability_score
from tests.gui.fakes.masks import answer


@pytest.fixture
def session(folder):
    s = AppSession(autosave_delay_s=600)
    opened = open_project(folder)
    s.adopt(opened.doc, opened.images)
    assert s.open_image(s.images[0])
    return s


def _click_and_answer(session, x=200, y=150):
    requests = []
    session.events.connect(DecodeRequested, requests.append)
    session.editor.add_point(x, y, 1)
    r = requests[-1]
    masks, scores, low = answer(session.image.shape[:2], r.points, r.labels, r.box, r.multimask)
    assert session.editor.apply_result(masks, scores, low)
    return scores, low


def test_numpy_stability_score_equals_the_engines_on_random_logits():
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((5, 256, 256)) * 4).astype(np.float32)
    want = engine_stability_score(torch.from_numpy(logits), 0.0, 1.0).numpy()
    got = [stability_score(one) for one in logits]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert stability_score(np.full((4, 4), -5.0, np.float32)) == 0.0  # nothing above -1


def test_accepted_model_mask_records_predicted_iou_and_stability_score(session):
    scores, low = _click_and_answer(session)
    chosen = session.prompts.state.chosen
    ann_id = session.editor.accept()
    prov = session.doc.annotation(ann_id).provenance
    assert prov["predicted_iou"] == pytest.approx(float(scores[chosen]))
    assert prov["stability_score"] == pytest.approx(stability_score(low[chosen]))
    assert isinstance(prov["stability_score"], float)


def test_brush_edit_keeps_the_model_scores_of_the_object(session):
    scores, low = _click_and_answer(session)
    chosen = session.prompts.state.chosen
    edited = session.prompts.current_mask.copy()
    edited[:10, :10] = True
    session.editor.apply_edit(edited)
    prov = session.doc.annotation(session.editor.accept()).provenance
    assert prov["edited"] is True
    assert prov["predicted_iou"] == pytest.approx(float(scores[chosen]))
    assert prov["stability_score"] == pytest.approx(stability_score(low[chosen]))
