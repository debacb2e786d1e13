import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotator.io.document import PALETTE, Document
from annotator.io.masks import decode_mask, encode_mask


def _mask(h=8, w=10, box=(2, 3, 5, 7)):
    y0, x0, y1, x1 = box
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture
def doc():
    d = Document("/data/photos")
    d.add_image("a.jpg", 10, 8)
    d.add_image("sub/b.jpg", 10, 8)
    d.mark_clean()
    return d


def test_new_document_has_default_category_and_is_clean():
    d = Document("root")
    assert [c.name for c in d.categories()] == ["object"]
    assert d.categories()[0].color == PALETTE[0]
    assert not d.dirty and not d.can_undo and d.path is None
    assert Document("root", categories=[]).categories() == []


def test_add_annotation_computes_rle_area_bbox_and_provenance(doc):
    ann_id = doc.add_annotation(
        1, 1, _mask(), predicted_iou=np.float32(0.9), point_coords=np.array([[3.5, 4.0]]),
        point_labels=np.array([1]), box=None, model="vit_b",
    )  # fmt: skip
    ann = doc.annotation(ann_id)
    assert ann.area == 12 and ann.bbox == (3.0, 2.0, 4.0, 3.0)
    np.testing.assert_array_equal(ann.mask, _mask())
    assert ann.provenance["predicted_iou"] == 0.9
    assert ann.provenance["point_coords"] == [[3.5, 4.0]]
    assert ann.provenance["point_labels"] == [1]
    assert "box" not in ann.provenance  # None values are not stored
    assert ann.provenance["created"] == ann.provenance["updated"]
    assert doc.dirty
    assert [a.id for a in doc.annotations_for(1)] == [ann_id]
    assert doc.annotations_for(2) == []


def test_add_annotation_accepts_rle(doc):
    ann_id = doc.add_annotation(2, 1, encode_mask(_mask()))
    np.testing.assert_array_equal(doc.annotation(ann_id).mask, _mask())


def test_bad_inputs_are_refused_without_change(doc):
    with pytest.raises(ValueError, match=r"mask shape \(8, 9\) does not match image 'a.jpg'"):
        doc.add_annotation(1, 1, np.zeros((8, 9), bool))
    with pytest.raises(KeyError, match="no image with id 99"):
        doc.add_annotation(99, 1, _mask())
    with pytest.raises(KeyError, match="no category with id 5"):
        doc.add_annotation(1, 5, _mask())
    with pytest.raises(ValueError, match="COCO keys"):
        doc.add_annotation(1, 1, _mask(), area=3)
    with pytest.raises(ValueError, match="empty"):
        doc.add_annotation(1, 1, np.zeros((8, 10), bool))
    assert not doc.dirty and not doc.can_undo and doc.annotations() == []


def test_undo_redo_add_replace_delete(doc):
    a = doc.add_annotation(1, 1, _mask())
    b = doc.add_annotation(1, 1, _mask(box=(0, 0, 2, 2)))
    doc.replace_annotation(a, mask=_mask(box=(1, 1, 3, 3)))
    assert doc.annotation(a).area == 4
    with pytest.raises(ValueError, match="empty"):
        doc.replace_annotation(a, mask=np.zeros((8, 10), bool))
    doc.delete_annotation(b)
    assert [x.id for x in doc.annotations_for(1)] == [a]
    assert doc.undo() == "delete mask"
    assert [x.id for x in doc.annotations_for(1)] == [a, b]  # order restored
    assert doc.undo() == "edit mask"
    assert doc.annotation(a).area == 12
    assert doc.redo() == "edit mask"
    assert doc.annotation(a).area == 4
    doc.undo()
    doc.undo()
    doc.undo()
    assert doc.annotations() == [] and not doc.can_undo and doc.undo() is None
    for _ in range(4):
        doc.redo()
    assert [x.id for x in doc.annotations_for(1)] == [a]
    assert not doc.can_redo and doc.redo() is None


def test_new_edit_clears_redo_and_ids_are_not_reused(doc):
    a = doc.add_annotation(1, 1, _mask())
    doc.undo()
    b = doc.add_annotation(1, 1, _mask())
    assert b != a and not doc.can_redo


def test_every_change_sets_dirty_undo_and_redo_included(doc):
    a = doc.add_annotation(1, 1, _mask())
    revisions = [doc.revision]
    for action in (doc.undo, doc.redo, lambda: doc.set_category(a, doc.add_category("cat")),
                   doc.undo, doc.undo, doc.redo):  # fmt: skip
        doc.mark_clean()
        assert not doc.dirty
        action()
        assert doc.dirty, action
        revisions.append(doc.revision)
    assert revisions == sorted(set(revisions))


def test_mark_clean_refuses_stale_revision(doc):
    doc.add_annotation(1, 1, _mask())
    saved = doc.revision
    doc.add_annotation(1, 1, _mask())  # edited while the save was being written
    assert doc.mark_clean(saved) is False and doc.dirty
    assert doc.mark_clean(doc.revision) is True and not doc.dirty


def test_set_category_and_provenance_update(doc):
    cat = doc.add_category("dog")
    a = doc.add_annotation(1, 1, _mask(), model="vit_b")
    doc.set_category(a, cat)
    ann = doc.annotation(a)
    assert ann.category_id == cat and ann.provenance["model"] == "vit_b"
    assert doc.undo_label == "change category"
    doc.undo()
    assert doc.annotation(a).category_id == 1


def test_categories_add_rename_recolor_delete_with_undo(doc):
    dog = doc.add_category("dog")
    assert doc.category(dog).color == PALETTE[1]
    cat = doc.add_category("cat", "#00FF00")
    assert doc.category(cat).color == "#00ff00"
    with pytest.raises(ValueError, match="already exists"):
        doc.add_category("dog")
    with pytest.raises(ValueError, match="#rrggbb"):
        doc.add_category("bird", "green")
    with pytest.raises(ValueError, match="empty"):
        doc.add_category("  ")
    doc.rename_category(dog, "puppy")
    doc.recolor_category(dog, "#123456")
    assert doc.category_by_name("puppy").color == "#123456"
    with pytest.raises(ValueError, match="already used"):
        doc.rename_category(dog, "cat")
    doc.undo()
    doc.undo()
    assert doc.category(dog).name == "dog" and doc.category(dog).color == PALETTE[1]
    a = doc.add_annotation(1, dog, _mask())
    with pytest.raises(ValueError, match="used by 1 annotation"):
        doc.delete_category(dog)
    doc.delete_category(dog, reassign_to=cat)
    assert doc.annotation(a).category_id == cat
    assert doc.category_by_name("dog") is None
    doc.undo()  # one step restores both the category and the annotation's label
    assert doc.annotation(a).category_id == dog and doc.category(dog).name == "dog"


def test_batch_is_one_undo_step_and_rolls_back_on_error(doc):
    a = doc.add_annotation(1, 1, _mask(box=(0, 0, 2, 2)))
    b = doc.add_annotation(1, 1, _mask(box=(4, 4, 6, 6)))
    with doc.batch("merge masks"):
        merged = doc.annotation(a).mask | doc.annotation(b).mask
        doc.delete_annotation(b)
        doc.replace_annotation(a, mask=merged)
    assert doc.annotation(a).area == 8 and doc.undo_label == "merge masks"
    doc.undo()
    assert doc.annotation(a).area == 4 and doc.annotation(b).area == 4
    before = doc.to_coco()
    with pytest.raises(ValueError), doc.batch("broken"):
        doc.delete_annotation(a)
        doc.add_annotation(1, 1, np.zeros((3, 3), bool))
    assert doc.to_coco() == before
    assert doc.undo_label == "add mask" and doc.redo_label == "merge masks"


def test_listeners_hear_touched_images(doc):
    heard = []
    doc.add_listener(heard.append)
    a = doc.add_annotation(2, 1, _mask())
    doc.undo()
    doc.redo()
    doc.delete_annotation(a)
    doc.add_category("x")
    assert heard == [frozenset({2})] * 4 + [frozenset()]


def test_images(doc):
    assert doc.image_by_file_name("sub/b.jpg").id == 2
    assert doc.image_by_file_name("sub\\b.jpg").id == 2
    assert doc.add_image("a.jpg", 10, 8) == 1  # already registered
    assert str(doc.image_path(2)).replace("\\", "/") == "/data/photos/sub/b.jpg"
    for bad in ("../x.jpg", "/etc/x.jpg", "C:/x.jpg", "a/../../x.jpg", ""):
        with pytest.raises(ValueError, match="inside the images root"):
            doc.add_image(bad, 5, 5)
    with pytest.raises(ValueError, match="invalid size"):
        doc.add_image("z.jpg", 0, 5)


def test_coco_roundtrip_keeps_everything(doc):
    dog = doc.add_category("dog", "#abcdef")
    prov = {"predicted_iou": 0.8, "stability_score": 0.95, "point_coords": [[1, 2]]}
    doc.add_annotation(1, dog, _mask(), point_labels=[1], box=[0, 0, 4, 4], model="m", **prov)
    doc.add_annotation(2, 1, _mask(box=(0, 0, 8, 10)))
    doc.extra["licenses"] = [{"id": 1, "name": "CC0"}]
    data = doc.to_coco()
    assert data["licenses"] == [{"id": 1, "name": "CC0"}] and "info" in data
    ann = data["annotations"][0]
    assert ann["segmentation"]["size"] == [8, 10] and isinstance(ann["segmentation"]["counts"], str)
    assert ann["iscrowd"] == 0 and ann["bbox"] == [3.0, 2.0, 4.0, 3.0] and ann["area"] == 12
    assert data["categories"][1] == {
        "id": dog,
        "name": "dog",
        "supercategory": "",
        "color": "#abcdef",
    }
    again = Document.from_coco(data, "/data/photos", path="/data/p.json")
    assert again.to_coco() == data
    assert not again.dirty and not again.can_undo and str(again.path) == "/data/p.json"
    new_id = again.add_annotation(1, 1, _mask())
    assert new_id == 3  # continues after the loaded ids


def test_from_coco_recomputes_area_bbox_and_colors_missing():
    mask = _mask()
    data = {
        "images": [{"id": 0, "file_name": "x.png", "width": 10, "height": 8, "license": 3}],
        "categories": [{"id": 0, "name": "a"}, {"id": 7, "name": "b", "color": "bad"}],
        "annotations": [{"id": 5, "image_id": 0, "category_id": 7, "iscrowd": None,
                         "segmentation": encode_mask(mask), "area": 999, "bbox": [0, 0, 1, 1],
                         "attributes": {"occluded": True}}],
    }  # fmt: skip
    doc = Document.from_coco(data, ".")
    ann = doc.annotation(5)
    assert ann.area == 12 and ann.bbox == (3.0, 2.0, 4.0, 3.0) and ann.iscrowd == 0
    assert ann.provenance == {"attributes": {"occluded": True}}
    assert [c.color for c in doc.categories()] == [PALETTE[0], PALETTE[1]]
    assert doc.image(0).extra == {"license": 3}
    np.testing.assert_array_equal(
        decode_mask(doc.to_coco()["annotations"][0]["segmentation"]), mask
    )


def test_from_coco_with_many_annotations():
    # pycocotools' batched area() breaks past 255 RLEs; the Document must not.
    mask = _mask()
    rle = encode_mask(mask)
    data = {
        "images": [{"id": 1, "file_name": "x.png", "width": 10, "height": 8}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [
            {"id": i, "image_id": 1, "category_id": 1, "segmentation": rle} for i in range(300)
        ],
    }
    doc = Document.from_coco(data, ".")
    assert len(doc.annotations()) == 300
    assert {a.area for a in doc.annotations()} == {12}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ardcmu"), st.integers(0, 10_000)), max_size=25))
def test_undo_all_then_redo_all_restores_each_state(ops):
    """Any edit sequence: undoing everything gives the start back, redoing gives the end."""
    doc = Document("r")
    doc.add_image("a.jpg", 10, 8)
    doc.add_image("b.jpg", 10, 8)
    start = doc.to_coco()
    for op, n in ops:
        anns = doc.annotations()
        y, x = n % 6, (n // 6) % 8
        if op == "a" or not anns:
            doc.add_annotation(1 + n % 2, doc.categories()[n % len(doc.categories())].id,
                               _mask(box=(y, x, y + 2, x + 2)))  # fmt: skip
        elif op == "r":
            doc.replace_annotation(anns[n % len(anns)].id, mask=_mask(box=(y, x, 8, 10)))
        elif op == "d":
            doc.delete_annotation(anns[n % len(anns)].id)
        elif op == "c":
            doc.add_category(f"c{len(doc.categories())}")
        elif op == "m":
            with doc.batch("merge"):
                keep, *rest = anns[: 1 + n % 3]
                for other in rest:
                    doc.delete_annotation(other.id)
                doc.replace_annotation(keep.id, mask=_mask(box=(0, 0, y + 1, x + 1)))
        elif op == "u":
            doc.undo()
    end = doc.to_coco()
    steps = 0
    while doc.undo() is not None:
        steps += 1
    assert doc.to_coco() == start
    for _ in range(steps):
        doc.redo()
    assert doc.to_coco() == end
