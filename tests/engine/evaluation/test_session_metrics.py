"""The session loop and the metrics on a fake model whose masks are scripted per call."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.engine.evaluation import (
    SessionOptions,
    clicks_to_reach,
    gt_box,
    iou_curve,
    jitter_box,
    mask_iou,
    run_session,
    summarize,
)
from annotator.engine.evaluation.runner import EvalObject, ImageStateCache, Run, evaluate_image


def square_gt() -> np.ndarray:
    gt = np.zeros((20, 20), bool)
    gt[0:10, 0:10] = True  # 100 px
    return gt


def first_pixels(gt: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` object pixels in row-major order: IoU n / |gt| against ``gt``."""
    out = np.zeros_like(gt)
    flat = np.flatnonzero(gt)[:n]
    out.flat[flat] = True
    return out


def test_noc_follows_the_scripted_ious(scripted):
    gt = square_gt()
    script = [first_pixels(gt, n) for n in (50, 80, 87, 92, 100)]
    model = scripted(lambda i, call: script[i])
    result = run_session(model, gt, SessionOptions(max_clicks=5))
    assert result.ious == pytest.approx([0.5, 0.8, 0.87, 0.92, 1.0])
    assert clicks_to_reach(result.ious, 0.85, 5) == (3, False)
    assert clicks_to_reach(result.ious, 0.90, 5) == (4, False)
    assert all(c.positive for c in result.clicks)  # only false negatives to correct
    assert len(model.calls) == 5
    # every call carries all the clicks so far
    assert [len(c["points"]) for c in model.calls] == [1, 2, 3, 4, 5]
    assert model.calls[0]["points"] == [[4.5, 4.5]]  # pixel (row 4, col 4), its centre


def test_a_model_that_never_reaches_the_target_fails_at_the_cap(scripted):
    gt = square_gt()
    model = scripted(lambda i, call: first_pixels(gt, 50))
    result = run_session(model, gt, SessionOptions(max_clicks=4))
    assert clicks_to_reach(result.ious, 0.85, 4) == (4, True)
    summary = summarize([{"ious": result.ious, "seconds": result.seconds}], max_clicks=4)
    assert summary["NoC@85"] == 4 and summary["fail@85"] == 1.0
    assert summary["mIoU"] == pytest.approx([0.5] * 4)


def test_a_model_perfect_after_the_first_click_has_noc_1(scripted):
    gt = square_gt()
    model = scripted(lambda i, call: gt)
    result = run_session(model, gt, SessionOptions(max_clicks=20))
    assert result.ious == [1.0] and len(model.calls) == 1  # nothing left to click
    summary = summarize([{"ious": result.ious, "seconds": result.seconds}], max_clicks=20)
    assert summary["NoC@85"] == 1 and summary["NoC@90"] == 1
    assert summary["fail@90"] == 0.0
    assert summary["mIoU"] == [1.0] * 20


def test_summary_averages_objects(scripted):
    objs = [{"ious": [0.9], "seconds": [0.1]}, {"ious": [0.5, 0.86, 0.95], "seconds": [0.3] * 3}]
    s = summarize(objs, max_clicks=3)
    assert s["objects"] == 2
    assert s["NoC@85"] == pytest.approx((1 + 2) / 2)
    assert s["NoC@90"] == pytest.approx((1 + 3) / 2)
    assert s["fail@90"] == 0.0
    assert s["mIoU"] == pytest.approx([0.7, 0.88, 0.925])
    assert s["seconds_per_click"] == pytest.approx(1.0 / 4)
    assert summarize([], 3)["NoC@85"] is None
    assert iou_curve([0.2, 0.4], 4) == [0.2, 0.4, 0.4, 0.4]


def test_first_click_multimask_keeps_the_best_scoring_candidate(scripted):
    gt = square_gt()
    candidates = [first_pixels(gt, 30), gt, first_pixels(gt, 60)]
    model = scripted(lambda i, call: candidates if call["multimask"] else gt, [0.2, 0.9, 0.5])
    result = run_session(model, gt, SessionOptions(max_clicks=3))
    assert model.calls[0]["multimask"] and result.ious == [1.0]
    plain = scripted(lambda i, call: first_pixels(gt, 30))
    run_session(plain, gt, SessionOptions(max_clicks=2, multimask_first=False))
    assert [c["multimask"] for c in plain.calls] == [False, False]


def test_logits_are_fed_back_unless_disabled(scripted):
    gt = square_gt()
    model = scripted(lambda i, call: first_pixels(gt, 40 + 10 * i), [0.1, 0.8, 0.3])
    run_session(model, gt, SessionOptions(max_clicks=3))
    assert model.calls[0]["mask_input"] is None
    # the chosen candidate (index 1, best score) of call 0 is fed to call 1: value 10*0 + 1
    assert model.calls[1]["mask_input"].shape == (1, 256, 256)
    assert np.all(model.calls[1]["mask_input"] == 1.0)
    assert np.all(model.calls[2]["mask_input"] == 10.0)  # single-mask call 1, candidate 0
    off = scripted(lambda i, call: first_pixels(gt, 40 + 10 * i))
    run_session(off, gt, SessionOptions(max_clicks=3, feedback=False))
    assert all(c["mask_input"] is None for c in off.calls)


def test_box_mode_is_one_box_prompt(scripted):
    gt = square_gt()
    model = scripted(lambda i, call: first_pixels(gt, 70))
    result = run_session(model, gt, SessionOptions(mode="box", max_clicks=20))
    assert len(model.calls) == 1 and result.ious == [0.7]
    call = model.calls[0]
    assert call["box"] == [0, 0, 10, 10] and call["points"] is None and not call["multimask"]


def test_box_then_clicks_keeps_the_box_and_corrects(scripted):
    gt = square_gt()
    model = scripted(lambda i, call: first_pixels(gt, 50 + 25 * i))
    result = run_session(model, gt, SessionOptions(mode="box+clicks", max_clicks=3))
    assert result.ious == pytest.approx([0.5, 0.75, 1.0])
    assert [c["box"] for c in model.calls] == [[0, 0, 10, 10]] * 3
    assert model.calls[0]["points"] is None
    # the first correction: the FN is rows 5..9 of the square, centre pixel (row 7, col 4/5)
    assert result.clicks[0].positive and result.clicks[0].row == 7
    assert len(model.calls[1]["points"]) == 1 and len(model.calls[2]["points"]) == 2


def test_gt_box_and_seeded_jitter():
    gt = square_gt()
    assert gt_box(gt).tolist() == [0, 0, 10, 10]
    a = jitter_box(gt_box(gt), 10, np.random.default_rng([0, 7]), gt.shape)
    b = jitter_box(gt_box(gt), 10, np.random.default_rng([0, 7]), gt.shape)
    assert a.tolist() == b.tolist()
    assert a.tolist() != [0, 0, 10, 10]
    assert np.all(np.abs(a - [0, 0, 10, 10]) <= 1.0)  # 10 % of a 10 px side
    assert a[0] >= 0 and a[1] >= 0  # clipped to the image


def test_mask_iou():
    a = square_gt()
    assert mask_iou(a, a) == 1.0
    assert mask_iou(a, first_pixels(a, 25)) == 0.25
    assert mask_iou(np.zeros((3, 3), bool), np.zeros((3, 3), bool)) == 1.0


class _Model:
    def __init__(self, model_id):
        self.model_id = model_id


def test_runner_reuses_an_encoding_only_for_the_same_model(scripted):
    gt = square_gt()
    encodes = []

    def make(model_id):
        p = scripted(lambda i, call: gt)
        p.model = _Model(model_id)
        p.set_image = lambda image: encodes.append(model_id)
        p.get_image_state = lambda: ("state", model_id)
        p.restored = []
        p.set_image_state = lambda state, p=p: p.restored.append(state)
        return p

    a, a2, b = make("A"), make("A"), make("B")
    runs = [
        Run("A clicks", a, SessionOptions(max_clicks=2)),
        Run("A box", a2, SessionOptions(mode="box")),
        Run("B clicks", b, SessionOptions(max_clicks=2)),
    ]
    cache = ImageStateCache()
    objects = [EvalObject(1, "square", gt)]
    results = list(evaluate_image(runs, "x.png", "hash", lambda: None, objects, cache))
    assert encodes == ["A", "B"] and a2.restored == [("state", "A")]
    assert (cache.encodes, cache.reuses) == (2, 1)
    assert [r.run for r in results] == ["A clicks", "A box", "B clicks"]
    assert results[0].ious == [1.0, 1.0] and results[1].ious == [1.0]
    row = results[0].row()
    assert row["NoC@85"] == 1 and row["clicks"] == "+4,4" and row["iou@2"] == 1.0
