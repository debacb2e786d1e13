"""Find's review without a window: the query event, the score slider, toggling by click, and
accepting as one undo step that never touches existing annotations."""

from __future__ import annotations

from tests.gui.session.conftest import blob


def answer(find, session, scores=(0.9, 0.7, 0.3)):
    shape = session.image.shape[:2]
    instances = [(*blob(shape, 10 + 60 * i, 10, 50 + 60 * i, 60), s) for i, s in enumerate(scores)]
    request = find.requests[-1]
    assert find.apply_result(request.request_id, request.image_key, instances)


def test_a_phrase_asks_the_model_and_the_slider_decides_what_is_kept(find, session):
    assert find.find("  dog  ") is not None
    (request,) = find.requests
    assert request.phrase == "dog" and request.image_key == session.image_key
    assert find.active and find.state.waiting == request.request_id
    answer(find, session)
    assert [c.kept for c in find.state.candidates] == [True, True, False]
    find.set_min_score(0.8)
    assert [c.kept for c in find.state.candidates] == [True, False, False]
    assert find.toggle_at(75, 30)  # the second blob
    assert [c.kept for c in find.state.candidates] == [True, True, False]
    assert not find.toggle_at(5, 5)


def test_a_stale_or_foreign_answer_is_ignored(find, session):
    find.find("dog")
    first = find.requests[-1]
    find.find("cat")
    assert not find.apply_result(first.request_id, first.image_key, [])
    assert not find.apply_result(find.requests[-1].request_id, "another image", [])
    assert find.state.waiting == find.requests[-1].request_id


def test_accept_is_one_undo_step_and_keeps_existing_annotations(find, session):
    doc = session.doc
    existing = doc.add_category("Dog")
    shape = session.image.shape[:2]
    old = doc.add_annotation(session.image_id, existing, blob(shape, 10, 10, 50, 60)[0])
    find.find("dog")
    answer(find, session)
    ids = find.accept()
    assert len(ids) == 2 and not find.active
    assert [c.name for c in doc.categories()] == ["object", "Dog"]  # matched, not added
    for ann_id, score in zip(ids, (0.9, 0.7), strict=True):
        ann = doc.annotation(ann_id)
        assert ann.category_id == existing
        assert ann.provenance["source"] == "sam3-text"
        assert ann.provenance["phrase"] == "dog" and ann.provenance["score"] == score
    assert doc.annotation(old).area == 40 * 50  # the overlapping old one is untouched
    session.undo()
    assert [a.id for a in doc.annotations()] == [old]
    session.redo()
    assert len(doc.annotations()) == 3


def test_a_new_phrase_creates_its_category_in_the_same_step(find, session):
    find.find("red car")
    answer(find, session)
    find.accept(everything=True)
    doc = session.doc
    assert "red car" in [c.name for c in doc.categories()]
    assert len(doc.annotations()) == 3
    session.undo()
    assert doc.annotations() == [] and "red car" not in [c.name for c in doc.categories()]


def test_exemplars_query_again_and_discard_drops_everything(find, session):
    find.add_exemplar((10, 10, 50, 60))
    assert find.requests[-1].exemplar_boxes == ((10.0, 10.0, 50.0, 60.0),)
    assert find.requests[-1].phrase is None
    find.add_exemplar((100, 10, 150, 60), positive=False)
    assert find.requests[-1].negative_boxes == ((100.0, 10.0, 150.0, 60.0),)
    answer(find, session)
    find.discard()
    assert not find.active and session.doc.annotations() == []


def test_nothing_to_find_says_so(find, session):
    assert find.find("   ") is None and find.requests == []
