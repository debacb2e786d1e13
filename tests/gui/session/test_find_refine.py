"""Refining one found instance with the interactive model, without a window: a double-click
takes a candidate over as the object in progress, its mask is the next click's mask input, and
Enter files the refined mask in the phrase's category with the find's provenance, one undo step.
"""

from __future__ import annotations

import numpy as np
import pytest

from annotator.gui.session.events import DecodeRequested, Message
from annotator.gui.session.pending import snapshot_from_json, snapshot_to_json
from annotator.gui.session.prompt_state import mask_to_logits
from tests.gui.fakes.masks import answer as model_answer
from tests.gui.session.conftest import blob
from tests.gui.session.test_find import answer

SECOND = (75, 30)  # inside the second blob, x 70-110, y 10-60 (score 0.7)


@pytest.fixture
def decodes(session):
    seen: list[DecodeRequested] = []
    session.events.connect(DecodeRequested, seen.append)
    session.model_name = "sam_vit_b_01ec64.pth"
    return seen


@pytest.fixture
def messages(session):
    seen: list[str] = []
    session.events.connect(Message, lambda m: seen.append(m.text))
    return seen


def click(session, decodes, x, y, label=1):
    """A click, and the interactive model's answer (refining from the request's mask input)."""
    session.editor.add_point(x, y, label)
    r = decodes[-1]
    masks, scores, low = model_answer(
        session.image.shape[:2], r.points, r.labels, r.box, r.multimask, r.mask_input
    )
    assert session.editor.apply_result(masks, scores, low)


def test_a_click_refines_a_candidate_and_enter_keeps_its_category_and_provenance(
    find, session, decodes, messages
):
    doc = session.doc
    dog = doc.add_category("Dog")  # the phrase is matched case-insensitively
    find.find("dog")
    answer(find, session)
    found = find.state.candidates[1].mask
    assert find.refine_at(*SECOND)
    assert any("Refining 'dog' 0.70" in m for m in messages)
    assert np.array_equal(session.prompts.current_mask, found)
    assert [c.score for c in find.shown] == [0.9, 0.3]  # taken out of the review
    assert find.active

    click(session, decodes, 118, 35)  # just right of the blob: the user wants it wider
    request = decodes[-1]
    np.testing.assert_array_equal(request.mask_input, mask_to_logits(found))
    assert not request.multimask  # a refinement, not an ambiguous first click
    refined = session.prompts.current_mask
    assert refined[35, 118] and not found[35, 118]  # grew where they clicked
    assert refined[30, 75] and refined[15, 100]  # and kept what was found
    click(session, decodes, 90, 50, label=0)  # a background click takes a bite out
    assert not session.prompts.current_mask[50, 90] and session.prompts.current_mask[15, 100]
    np.testing.assert_array_equal(decodes[-1].mask_input, mask_to_logits(refined))

    names = [c.name for c in doc.categories()]
    shown = session.prompts.current_mask
    ann_id = session.editor.accept()
    ann = doc.annotation(ann_id)
    assert ann.category_id == dog and [c.name for c in doc.categories()] == names
    assert np.array_equal(session.masks.mask(ann), shown)
    prov = ann.provenance
    assert (prov["source"], prov["phrase"], prov["score"], prov["box"]) == (
        "sam3-text", "dog", 0.7, [70.0, 10.0, 110.0, 60.0]
    )  # fmt: skip
    assert prov["model"] == "sam3" and prov["refined_with"] == "sam_vit_b_01ec64.pth"
    assert prov["point_coords"] == [[118.0, 35.0], [90.0, 50.0]] and prov["point_labels"] == [1, 0]
    assert "predicted_iou" in prov and "edited" not in prov
    assert session.prompts.is_empty and session.selected == ann_id
    assert [c.score for c in find.shown] == [0.9, 0.3]  # not offered again; the others wait

    find.find("dog")  # asked again: the refined one is not offered twice
    answer(find, session)
    assert [c.score for c in find.shown] == [0.9, 0.3]
    assert messages[-1] == "Found 2 (1 at or above the slider; 1 already annotated, not shown)"
    find.discard()

    step = session.history.move("Undo")
    assert step is not None and messages[-1] == "Undo: add refined 'dog'"
    assert doc.annotations_for(session.image_id) == []
    assert session.prompts.current_mask[35, 118]  # the refined object is back in progress


def test_esc_puts_the_candidate_back_and_enter_alone_keeps_the_found_mask(
    find, session, decodes, messages
):
    doc = session.doc
    names = [c.name for c in doc.categories()]
    find.find("dog")
    answer(find, session)
    assert find.refine_at(*SECOND)
    session.editor.clear()  # Esc
    assert [c.score for c in find.shown] == [0.9, 0.7, 0.3] and session.prompts.is_empty
    assert find.state.candidates[1].kept  # the double-click's first click did not drop it

    assert find.refine_at(*SECOND)
    ann_id = session.editor.accept()  # Enter with no click: the mask as found
    ann = doc.annotation(ann_id)
    assert np.array_equal(session.masks.mask(ann), find.state.candidates[1].mask)
    assert doc.category(ann.category_id).name == "dog" and "dog" not in names  # created...
    assert "refined_with" not in ann.provenance and ann.provenance["phrase"] == "dog"
    assert decodes == []  # nothing asked of the interactive model
    session.history.move("Undo")  # ...in the same undo step
    assert doc.annotations_for(session.image_id) == []
    assert [c.name for c in doc.categories()] == names


def test_refining_waits_for_the_object_in_progress(find, session, decodes, messages):
    find.find("dog")
    answer(find, session)
    session.editor.add_point(300, 200, 1)
    assert not find.refine_at(*SECOND)
    assert messages[-1] == "Accept (Enter) or clear (Esc) the object in progress first"
    assert not find.refine_at(5, 200)  # no candidate there


def test_an_accepted_found_mask_reopened_and_refined_keeps_its_provenance(find, session, decodes):
    doc = session.doc
    find.find("dog")
    answer(find, session)
    (first, second) = find.accept()
    session.editor.reopen(second)
    click(session, decodes, 118, 35)
    as_found = blob(session.image.shape[:2], 70, 10, 110, 60)[0]
    np.testing.assert_array_equal(decodes[-1].mask_input, mask_to_logits(as_found))
    session.editor.accept()  # writes back
    ann = doc.annotation(second)
    assert session.masks.mask(ann)[35, 118] and session.masks.mask(ann)[30, 75]
    prov = ann.provenance
    assert (prov["source"], prov["phrase"], prov["score"]) == ("sam3-text", "dog", 0.7)
    assert prov["refined_with"] == "sam_vit_b_01ec64.pth" and prov["model"] == "sam3"
    assert doc.category(ann.category_id).name == "dog"
    assert "refined_with" not in doc.annotation(first).provenance


def test_a_taken_over_candidate_survives_a_restart_with_its_provenance(find, session):
    find.find("dog")
    answer(find, session)
    assert find.refine_at(*SECOND)
    data = snapshot_to_json(session.prompts.state)
    h, w = session.image.shape[:2]
    back = snapshot_from_json(data, h, w)
    assert back.origin.category == "dog"
    assert dict(back.origin.provenance)["score"] == 0.7
    assert np.array_equal(back.edited, find.state.candidates[1].mask)
    session.prompts.restore(back)
    assert not session.prompts.refined  # still the mask as found
