import contextlib
import copy
import io
import json
import os

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotator.io.coco_store import (
    ProjectChangedOnDiskError,
    ProjectLoadError,
    load_project,
    save_project,
    sidecar_path,
)
from annotator.io.document import Document
from annotator.io.masks import decode_mask, encode_mask


def _ring(h, w, y0, x0, size):
    mask = np.zeros((h, w), bool)
    mask[y0 : y0 + size, x0 : x0 + size] = True
    mask[y0 + size // 4 : y0 + size // 2, x0 + size // 4 : x0 + size // 2] = False  # a hole
    return mask


def _make_doc(root) -> Document:
    doc = Document(root)
    dog = doc.add_category("dog")
    a = doc.add_image("a.jpg", 64, 48)
    b = doc.add_image("sub/ü b.png", 32, 32)
    doc.add_annotation(a, 1, _ring(48, 64, 5, 5, 20), predicted_iou=0.91, stability_score=0.97,
                       point_coords=[[10.5, 12.0]], point_labels=[1], model="vit_b")  # fmt: skip
    doc.add_annotation(a, dog, _ring(48, 64, 20, 30, 16), box=[30, 20, 46, 36])
    doc.add_annotation(b, dog, _ring(32, 32, 0, 0, 32))
    return doc


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        return fn(*args)


def test_save_load_roundtrip(tmp_path):
    doc = _make_doc(tmp_path)
    path = save_project(doc, tmp_path / "p.json")
    assert path == tmp_path / "p.json" and doc.path == path and not doc.dirty
    loaded = load_project(path)
    assert loaded.to_coco() == doc.to_coco()
    assert loaded.images_root == tmp_path and loaded.path == path and not loaded.dirty
    np.testing.assert_array_equal(loaded.annotations_for(1)[0].mask, _ring(48, 64, 5, 5, 20))
    data = json.loads(path.read_text(encoding="utf-8"))
    seg = data["annotations"][0]["segmentation"]
    assert isinstance(seg["counts"], str) and seg["size"] == [48, 64]
    assert data["annotations"][0]["predicted_iou"] == 0.91
    assert data["categories"][0]["color"].startswith("#")


def test_pycocotools_loads_file_and_self_eval_gives_ap_1(tmp_path):
    path = save_project(_make_doc(tmp_path), tmp_path / "p.json")
    gt = _quiet(COCO, str(path))
    assert len(gt.getAnnIds()) == 3 and len(gt.getImgIds()) == 2
    np.testing.assert_array_equal(gt.annToMask(gt.loadAnns([1])[0]), _ring(48, 64, 5, 5, 20))
    results = [{**ann, "score": 1.0} for ann in gt.loadAnns(gt.getAnnIds())]
    dt = _quiet(gt.loadRes, results)
    evaluator = COCOeval(gt, dt, iouType="segm")
    _quiet(evaluator.evaluate)
    _quiet(evaluator.accumulate)
    _quiet(evaluator.summarize)
    assert evaluator.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]


def test_images_root_recorded_relative_to_project(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    doc = _make_doc(photos)
    (tmp_path / "projects").mkdir()
    path = save_project(doc, tmp_path / "projects" / "p.json")
    assert json.loads(path.read_text())["annotator"]["images_root"] == "../photos"
    # A root outside the project's folder is only used when the user names it (issue 10 item 7).
    with pytest.raises(ProjectLoadError, match=r"annotator\.images_root.*--images-root"):
        load_project(path)
    assert load_project(path, images_root=photos).images_root == photos
    assert load_project(path, images_root=tmp_path).images_root == tmp_path


def test_save_keeps_backup_and_foreign_sidecar(tmp_path):
    doc = _make_doc(tmp_path)
    path = save_project(doc, tmp_path / "p.json")
    first = path.read_bytes()
    sidecar_path(path).write_text("{}")  # not written by this document (another window's)
    doc.delete_annotation(3)
    save_project(doc)
    assert (tmp_path / "p.json.bak").read_bytes() == first
    assert sidecar_path(path).read_text() == "{}"
    assert len(load_project(path).annotations()) == 2
    assert len(load_project(tmp_path / "p.json.bak").annotations()) == 3


def test_save_without_path(tmp_path):
    with pytest.raises(ValueError, match="give a path"):
        save_project(Document(tmp_path))


def test_concurrent_writer_detected(tmp_path):
    path = save_project(_make_doc(tmp_path), tmp_path / "p.json")
    ours = load_project(path)
    theirs = load_project(path)
    theirs.add_category("cat")
    save_project(theirs)
    ours.delete_annotation(1)
    with pytest.raises(ProjectChangedOnDiskError, match="changed on disk"):
        save_project(ours)
    assert load_project(path).category_by_name("cat") is not None  # their work is intact
    assert ours.dirty
    save_project(ours, force=True)
    assert load_project(path).category_by_name("cat") is None and not ours.dirty
    save_project(ours)  # after a forced save the new file is ours again


def test_touched_but_unchanged_file_is_not_a_conflict(tmp_path):
    doc = _make_doc(tmp_path)
    path = save_project(doc, tmp_path / "p.json")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    doc.add_category("x")
    save_project(doc)
    path.unlink()  # deleted by someone: writing it again loses nothing
    doc.add_category("y")
    save_project(doc)
    assert load_project(path).category_by_name("y") is not None


def test_save_as_elsewhere_does_not_check_the_old_file(tmp_path):
    doc = _make_doc(tmp_path)
    path = save_project(doc, tmp_path / "p.json")
    path.write_text("changed by someone else")
    other = save_project(doc, tmp_path / "copy.json")
    assert doc.path == other
    assert path.read_text() == "changed by someone else"


def test_save_failure_keeps_dirty_and_old_file(tmp_path, monkeypatch):
    doc = _make_doc(tmp_path)
    path = save_project(doc, tmp_path / "p.json")
    before = path.read_bytes()
    doc.delete_annotation(1)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("annotator.io.coco_store.atomic_write_bytes", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_project(doc)
    assert doc.dirty and path.read_bytes() == before


def test_nan_in_provenance_is_written_as_null(tmp_path):
    doc = _make_doc(tmp_path)
    doc.add_annotation(1, 1, _ring(48, 64, 0, 0, 8), predicted_iou=float("nan"))
    path = save_project(doc, tmp_path / "p.json")
    json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} written"))
    assert load_project(path).annotation(4).provenance["predicted_iou"] is None


# ----- validation ---------------------------------------------------------------------------


@pytest.fixture
def valid(tmp_path):
    path = save_project(_make_doc(tmp_path), tmp_path / "p.json")
    return json.loads(path.read_text())


def _expect_error(tmp_path, data_or_text, *fragments):
    path = tmp_path / "bad.json"
    text = data_or_text if isinstance(data_or_text, str) else json.dumps(data_or_text)
    path.write_text(text, encoding="utf-8")
    listing = sorted(os.listdir(tmp_path))
    with pytest.raises(ProjectLoadError) as info:
        load_project(path)
    message = str(info.value)
    assert "bad.json" in message
    for fragment in fragments:
        assert fragment in message, message
    assert path.read_text(encoding="utf-8") == text  # nothing modified by a failed load
    assert sorted(os.listdir(tmp_path)) == listing  # and nothing created
    assert isinstance(info.value, ValueError)
    return info.value


def test_invalid_json_reports_line_and_column(tmp_path):
    _expect_error(tmp_path, '{\n  "images": [,]\n}', "line 2 column 14", "invalid JSON")


def test_empty_and_binary_files(tmp_path):
    _expect_error(tmp_path, "  \n", "file is empty")
    path = tmp_path / "bin.json"
    path.write_bytes(b"\xff\xd8\xff\xe0 jpeg")
    with pytest.raises(ProjectLoadError, match="not UTF-8"):
        load_project(path)
    with pytest.raises(ProjectLoadError, match=r"nope\.json: file not found"):
        load_project(tmp_path / "nope.json")


def test_missing_sections_and_keys(tmp_path, valid):
    _expect_error(tmp_path, [], "top level must be a JSON object")
    del valid["categories"]
    _expect_error(tmp_path, valid, "missing required key 'categories'")
    valid["categories"] = {}
    _expect_error(tmp_path, valid, "categories: must be a list")


def test_missing_annotation_keys(tmp_path, valid):
    del valid["annotations"][1]["segmentation"]
    valid["images"][0]["width"] = None
    _expect_error(tmp_path, valid, "annotations[1]: missing required key(s) 'segmentation'",
                  "images[0]: missing required key(s) 'width'")  # fmt: skip


def test_duplicate_ids(tmp_path, valid):
    valid["annotations"][2]["id"] = valid["annotations"][0]["id"]
    valid["categories"].append(copy.deepcopy(valid["categories"][0]))
    _expect_error(tmp_path, valid, "annotations[2].id: duplicate id 1", "categories[2].id")


def test_dangling_references(tmp_path, valid):
    valid["annotations"][0]["image_id"] = 42
    valid["annotations"][1]["category_id"] = 7
    _expect_error(tmp_path, valid, "annotations[0].image_id: no image with id 42",
                  "annotations[1].category_id: no category with id 7")  # fmt: skip


def test_rle_size_mismatch(tmp_path, valid):
    valid["annotations"][2]["segmentation"] = encode_mask(np.ones((30, 32), bool))
    _expect_error(tmp_path, valid, "annotations[2].segmentation.size: [30, 32] does not match",
                  "(32, 32)")  # fmt: skip


def test_polygons_are_pointed_to_import(tmp_path, valid):
    valid["annotations"][0]["segmentation"] = [[1, 1, 5, 1, 5, 5]]
    _expect_error(tmp_path, valid, "annotations[0].segmentation", "polygons", "annotator import")


def test_malformed_counts(tmp_path, valid):
    # counts of a mask twice the image's height: runs overflow the declared size
    valid["annotations"][0]["segmentation"]["counts"] = encode_mask(np.ones((96, 64)))["counts"]
    _expect_error(tmp_path, valid, "annotations[0].segmentation.counts: is not a valid RLE")


@pytest.mark.parametrize("bbox", [[-1, 0, 3, 3], [0, 0, "NaN", 3], [0, 0, 3], [1, 2, 3, -4]])
def test_bad_bbox(tmp_path, valid, bbox):
    text = json.dumps(valid).replace(
        '"bbox": [5.0, 5.0, 20.0, 20.0]', f'"bbox": {json.dumps(bbox)}'
    )
    text = text.replace('"NaN"', "NaN")  # JSON's non-standard NaN literal, as some tools write
    err = _expect_error(tmp_path, text, "annotations[0].bbox")
    assert any(w in str(err) for w in ("negative", "NaN", "[x, y, width, height]"))


@pytest.mark.parametrize(
    "file_name",
    ["../outside.jpg", "a/../../outside.jpg", "/etc/passwd", "C:\\Windows\\x.jpg", "C:x.jpg"],
)
def test_file_name_escaping_root_refused(tmp_path, valid, file_name):
    valid["images"][0]["file_name"] = file_name
    _expect_error(tmp_path, valid, "images[0].file_name", "not a path inside the images root")


def test_absolute_file_name_inside_root_and_backslashes_accepted(tmp_path, valid):
    valid["images"][0]["file_name"] = str(tmp_path / "a.jpg")
    valid["images"][1]["file_name"] = "sub\\ü b.png"
    path = tmp_path / "p2.json"
    path.write_text(json.dumps(valid), encoding="utf-8")
    doc = load_project(path)
    assert [im.file_name for im in doc.images()] == ["a.jpg", "sub/ü b.png"]


def test_duplicate_file_names(tmp_path, valid):
    valid["images"][1]["file_name"] = "./a.jpg"
    _expect_error(tmp_path, valid, "images[1].file_name", "listed twice")


def test_many_problems_are_summarised(tmp_path, valid):
    ann = valid["annotations"][0]
    valid["annotations"] = [{**ann, "id": i, "image_id": 999} for i in range(100)]
    err = _expect_error(tmp_path, valid, "annotations[0].image_id", "more problems")
    assert len(str(err).splitlines()) <= 23


def test_foreign_coco_extras_survive(tmp_path, valid):
    valid["licenses"] = [{"id": 1, "name": "CC0"}]
    valid["type"] = "instances"
    valid["images"][0]["coco_url"] = "http://x"
    valid["annotations"][0]["attributes"] = {"occluded": False}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(valid), encoding="utf-8")
    doc = load_project(path)
    save_project(doc)
    again = json.loads(path.read_text())
    assert again["licenses"] == valid["licenses"] and again["type"] == "instances"
    assert again["images"][0]["coco_url"] == "http://x"
    assert again["annotations"][0]["attributes"] == {"occluded": False}
    mask = decode_mask(again["annotations"][0]["segmentation"])
    np.testing.assert_array_equal(mask, _ring(48, 64, 5, 5, 20))
