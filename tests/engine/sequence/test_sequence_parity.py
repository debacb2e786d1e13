"""SequencePredictor against Meta's SAM2VideoPredictor (the test-only oracle, see oracle.py).

Hiera-T SAM 2.1 on random weights, seeded, every parameter perturbed, saved as
``{"model": state_dict}`` and loaded with ``load_model``. Both run at a 128-pixel model input
(Meta's ``image_size`` override; ours ``set_image_size``) so that the memory path runs on
8x8 feature maps and the test stays within CPU minutes: nothing in the memory path depends
on the size. One session: a click (object 1), a box (object 2) and a mask (object 3) on frame
0 of a 10-frame moving-crop sequence; forward propagation; a correction click on frame 5 and
propagation from there; reverse propagation from frame 8 (Meta's CPU path cannot start a
reverse run on the last frame: with no object pointers its memory stays bfloat16 and its
float32 attention refuses it). Both get the same decoded JPEG pixels and resize them with
Pillow, as Meta's ``load_video_frames`` does.

Bar: per frame and object, mask IoU >= 0.99 and object-score logits within 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotator.engine import SequencePredictor, load_model
from tests.engine.oracles import iou
from tests.engine.sequence.oracle import build_oracle, moving_crop_frames

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]

IMAGE_SIZE = 128
IOU_MIN = 0.99
SCORE_TOL = 1e-3


def _meta_scores(state, frame: int) -> dict[int, float]:
    scores = {}
    for idx, oid in state["obj_idx_to_id"].items():
        done = state["output_dict_per_obj"][idx]
        temp = state["temp_output_dict_per_obj"][idx]
        out = temp["cond_frame_outputs"].get(frame) or done["cond_frame_outputs"].get(frame)
        out = out or done["non_cond_frame_outputs"].get(frame)
        if out is not None:
            scores[oid] = float(out["object_score_logits"])
    return scores


class Checker:
    def __init__(self, ref_state, ours: SequencePredictor) -> None:
        self.state, self.ours = ref_state, ours
        self.checked = 0
        self.non_empty = 0

    def __call__(self, where: str, frame: int, ref_masks: torch.Tensor, our_masks) -> None:
        ref = (ref_masks > 0).numpy()[:, 0]
        assert ref.shape == our_masks.shape, where
        ious = iou(ref, our_masks)
        assert (ious >= IOU_MIN).all(), f"{where} frame {frame}: IoU {ious}"
        ref_s, our_s = _meta_scores(self.state, frame), self.ours.object_scores(frame)
        assert set(ref_s) == set(our_s), where
        for oid, s in ref_s.items():
            assert abs(s - our_s[oid]) <= SCORE_TOL, f"{where} frame {frame} object {oid}"
        self.checked += len(ious)
        self.non_empty += int(ref.any(axis=(1, 2)).sum())


def test_session_matches_meta_video_predictor(tmp_path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    ref = build_oracle(IMAGE_SIZE)
    ckpt = tmp_path / "sam2.1_hiera_tiny.pt"
    torch.save({"model": ref.state_dict()}, ckpt)
    model = load_model(ckpt, device="cpu", dtype="float32")
    model.set_image_size(IMAGE_SIZE)
    frames = moving_crop_frames(tmp_path / "frames", 10)
    h, w = frames.shape[1:3]
    state = ref.init_state(str(tmp_path / "frames"))
    ours = SequencePredictor(model)
    ours.init_state(frames)
    check = Checker(state, ours)

    _, ids, r = ref.add_new_points_or_box(state, 0, 1, points=[[60, 40]], labels=[1])
    o_ids, o = ours.add_points_or_box(0, 1, [[60, 40]], [1])
    assert o_ids == ids == [1]
    check("points", 0, r, o)
    _, _, r = ref.add_new_points_or_box(state, 0, 2, box=[10, 20, 70, 90])
    check("box", 0, r, ours.add_points_or_box(0, 2, box=[10, 20, 70, 90])[1])
    mask = np.zeros((h, w), bool)
    mask[30:70, 70:120] = True
    _, _, r = ref.add_new_mask(state, 0, 3, mask)
    check("mask", 0, r, ours.add_mask(0, 3, mask)[1])

    def propagate(where: str, **kw) -> list[int]:
        meta_kw = {"start_frame_idx": kw.get("start_frame"), "reverse": kw.get("reverse", False)}
        seen = []
        for (fr, r_ids, rm), (fo, o_ids, om) in zip(
            ref.propagate_in_video(state, **meta_kw), ours.propagate(**kw), strict=True
        ):
            assert fr == fo and list(r_ids) == o_ids == [1, 2, 3]
            check(where, fr, rm, om)
            seen.append(fr)
        return seen

    assert propagate("forward") == list(range(10))
    _, _, r = ref.add_new_points_or_box(
        state, 5, 1, points=[[30, 60]], labels=[0], clear_old_points=False
    )
    check(
        "correction", 5, r, ours.add_points_or_box(5, 1, [[30, 60]], [0], clear_old_points=False)[1]
    )
    assert propagate("from the correction", start_frame=5) == list(range(5, 10))
    assert propagate("reverse", start_frame=8, reverse=True) == list(range(8, -1, -1))
    assert check.checked == 3 + 1 + 2 + 3 + 30 + 15 + 27
    # The comparison means something only if the masks are not all empty.
    assert check.non_empty >= check.checked // 2, (check.non_empty, check.checked)
