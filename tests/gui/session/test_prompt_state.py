"""Prompt session and mask -> logits conversion."""

import numpy as np

from annotator.gui.session.prompt_state import PromptSession, mask_to_logits


def result(h=40, w=60, c=3, best=1):
    masks = np.zeros((c, h, w), bool)
    for i in range(c):
        masks[i, : 10 * (i + 1)] = True
    scores = np.linspace(0.5, 0.6, c).astype(np.float32)
    scores[best] = 0.99
    low = np.stack([np.full((256, 256), float(i), np.float32) for i in range(c)])
    return masks, scores, low


def test_first_click_is_multimask_then_refines_from_chosen_logits():
    s = PromptSession()
    s.add_point(5, 6, 1)
    pts, labels, box, mask_input, multi = s.prompt_arrays()
    assert pts.shape == (1, 2) and pts.dtype == np.float32 and labels.tolist() == [1]
    assert box is None and mask_input is None and multi
    s.apply_result(*result(best=1))
    assert s.state.chosen == 1 and s.current_mask.sum() == 20 * 60
    s.cycle()
    assert s.state.chosen == 2
    s.add_point(30, 30, 0)
    pts, labels, box, mask_input, multi = s.prompt_arrays()
    assert not multi and labels.tolist() == [1, 0]
    assert mask_input.shape == (1, 256, 256) and np.all(mask_input == 2.0)  # candidate 2's logits
    s.set_box((1, 2, 30, 40))
    assert s.prompt_arrays()[2].tolist() == [1, 2, 30, 40]


def test_box_alone_is_single_mask():
    s = PromptSession()
    s.set_box((0, 0, 10, 10))
    assert s.prompt_arrays()[4] is False


def test_mask_to_logits_follows_sam_low_res_frame():
    mask = np.zeros((300, 600), bool)  # wide: 600 -> 256, 300 -> 128
    mask[:, :300] = True
    logits = mask_to_logits(mask)
    assert logits.shape == (1, 256, 256) and logits.dtype == np.float32
    assert (logits[0, :128, :127] > 0).all() and (logits[0, :128, 129:] < 0).all()
    assert (logits[0, 128:] < 0).all()  # the padded part is background


def test_edited_mask_is_the_result_and_feeds_the_next_click():
    s = PromptSession()
    s.add_point(5, 5, 1)
    s.apply_result(*result())
    edit = np.zeros((40, 60), bool)
    edit[:5, :5] = True
    s.apply_edit(edit)
    assert s.current_mask is not edit and (s.current_mask == edit).all()
    s.add_point(20, 20, 1)
    np.testing.assert_array_equal(s.prompt_arrays()[3], mask_to_logits(edit))
