import json
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError
from annotator.io.masks import decode_mask, encode_mask
from tests.io.formats.format_fixtures import H, W, disk, l_shape, rectangle, ring, write_image


def _uncompressed(mask: np.ndarray) -> dict:
    flat = mask.ravel(order="F").astype(np.uint8)
    changes = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return {"size": [H, W], "counts": np.diff(np.r_[0, changes]).tolist()}


def _write(tmp_path: Path, data) -> Path:
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_image(tmp_path / "imgs" / "a.png")
    write_image(tmp_path / "imgs" / "b.png")
    return tmp_path / "imgs"


def _foreign(root: Path) -> dict:
    """A COCO file as other tools write them: id-0 category, gaps, nulls, extra keys."""
    rect = [20, 10, 80, 10, 80, 35, 20, 35]
    return {
        "info": {"description": "from another tool"},
        "licenses": [],
        "type": "instances",
        "images": [
            {"id": 0, "file_name": "a.png", "width": W, "height": H, "license": None},
            {"id": 7, "file_name": "b.png", "width": None, "height": None},
        ],
        "categories": [
            {"id": 0, "name": "zero", "supercategory": None},
            {"id": 5, "name": "five", "supercategory": "thing"},
        ],
        "annotations": [
            {"id": 1, "image_id": 0, "category_id": 0, "segmentation": [rect], "iscrowd": 0,
             "area": None, "bbox": None},
            {"id": 2, "image_id": 0, "category_id": 5, "segmentation": _uncompressed(ring()),
             "iscrowd": 1},
            {"id": 3, "image_id": 7, "category_id": 5, "segmentation": encode_mask(l_shape()),
             "iscrowd": None},
            {"id": 4, "image_id": 7, "category_id": 5, "segmentation": None},
        ],
    }  # fmt: skip


def test_imports_polygons_rles_crowd_nulls_and_odd_ids(tmp_path, root):
    result = import_coco(_write(tmp_path, _foreign(root)), root)
    coco = result.coco
    assert set(coco) == {"images", "categories", "annotations"}  # extra keys dropped
    names = {c["name"]: c for c in coco["categories"]}
    assert names["five"]["id"] == 5 and names["five"]["supercategory"] == "thing"
    assert names["zero"]["id"] == 6  # id 0 renumbered past the largest id
    images = {im["file_name"]: im for im in coco["images"]}
    assert images["b.png"]["id"] == 7 and (images["b.png"]["width"], images["b.png"]["height"]) == (
        W,
        H,
    )
    anns = {a["id"]: a for a in coco["annotations"]}
    assert sorted(anns) == [1, 2, 3]  # the one without a segmentation is skipped
    for ann in anns.values():
        assert isinstance(ann["segmentation"]["counts"], str) and ann["iscrowd"] == 0
    assert np.array_equal(decode_mask(anns[1]["segmentation"]), rectangle())
    assert np.array_equal(decode_mask(anns[2]["segmentation"]), ring())
    assert np.array_equal(decode_mask(anns[3]["segmentation"]), l_shape())
    assert anns[1]["category_id"] == 6 and anns[1]["image_id"] == images["a.png"]["id"]
    assert anns[1]["area"] == rectangle().sum() and anns[1]["bbox"] == [20.0, 10.0, 60.0, 25.0]
    text = "\n".join(result.warnings)
    assert "1 crowd regions" in text and "1 annotations without a segmentation" in text
    assert "renumbered" in text


def test_width_and_height_come_from_the_file_when_missing(tmp_path):
    write_image(tmp_path / "big.png", h=33, w=44)
    data = {"images": [{"id": 1, "file_name": "big.png"}], "categories": [], "annotations": []}
    result = import_coco(_write(tmp_path, data), tmp_path)
    assert result.coco["images"][0] | {} == {
        "id": 1,
        "file_name": "big.png",
        "width": 44,
        "height": 33,
    }


def test_degenerate_polygons_are_dropped_with_a_warning(tmp_path, root):
    data = _foreign(root)
    data["annotations"] = [
        {"id": 1, "image_id": 0, "category_id": 5, "segmentation": [[1, 1, 5, 5]]},
        {"id": 2, "image_id": 0, "category_id": 5,
         "segmentation": [[1, 1, 2, 2], [20, 10, 80, 10, 80, 35, 20, 35]]},
    ]  # fmt: skip
    result = import_coco(_write(tmp_path, data), root)
    assert [a["id"] for a in result.coco["annotations"]] == [2]
    assert any("fewer than 3 points" in w for w in result.warnings)
    assert any("empty mask" in w for w in result.warnings)


def _break(data: dict, where: str, value) -> dict:
    section, index, key = where.split(".")
    data[section][int(index)][key] = value
    return data


BAD_FIELDS = [
    ("annotations.0.image_id", 99, r"annotations\[0\].image_id", "not the id of an image"),
    (
        "annotations.0.category_id",
        None,
        r"annotations\[0\].category_id",
        "not the id of a category",
    ),
    ("annotations.1.id", 1, r"annotations\[1\].id", "duplicate id 1"),
    ("images.1.id", "x", r"images\[1\].id", "must be an integer"),
    ("images.1.file_name", "../outside.png", r"images\[1\].file_name", "outside the images root"),
    ("images.1.file_name", "C:x.png", r"images\[1\].file_name", "outside the images root"),
    ("images.1.file_name", "a.png", r"images\[1\].file_name", "repeats images\\[0\\]"),
    ("images.1.file_name", "missing.png", r"images\[1\]", "no width/height"),
    ("images.0.width", -3, r"images\[0\]", "positive integers"),
    ("categories.1.name", "", r"categories\[1\].name", "non-empty string"),
    ("annotations.0.segmentation", [[1, 2, 3, 4, 5]], r"segmentation\[0\]", "odd number"),
    ("annotations.0.segmentation", [["a", 1, 2, 3, 4, 5]], r"segmentation\[0\]", "finite numbers"),
    ("annotations.0.segmentation", "rle", r"annotations\[0\].segmentation", "polygons or RLE"),
    (
        "annotations.2.segmentation",
        {"size": [10, 10], "counts": "PP"},
        r"segmentation.size",
        r"does not match",
    ),
    (
        "annotations.2.segmentation",
        {"size": [H, W], "counts": "02"},
        r"segmentation.counts",
        "add up to 2 pixels",
    ),
    (
        "annotations.2.segmentation",
        {"size": [H, W], "counts": "\x7f\x7f"},
        r"segmentation.counts",
        "malformed",
    ),
    (
        "annotations.1.segmentation",
        {"size": [H, W], "counts": [5, 5]},
        r"segmentation.counts",
        "add up to 10 pixels",
    ),
    (
        "annotations.1.segmentation",
        {"size": [H, W], "counts": [-1]},
        r"segmentation.counts",
        "non-negative",
    ),
    (
        "annotations.1.segmentation",
        {"size": [H, W], "counts": 3},
        r"segmentation.counts",
        "string or a list",
    ),
]


@pytest.mark.parametrize(("where", "value", "place", "reason"), BAD_FIELDS)
def test_bad_fields_name_file_place_and_reason(tmp_path, root, where, value, place, reason):
    path = _write(tmp_path, _break(_foreign(root), where, value))
    with pytest.raises(FormatError, match=rf"instances.json: .*{place}.*{reason}"):
        import_coco(path, root)


def test_missing_images_section_is_named(tmp_path, root):
    data = _foreign(root)
    del data["images"]
    with pytest.raises(FormatError, match=r"instances.json: images: missing"):
        import_coco(_write(tmp_path, data), root)


def test_sections_must_be_lists(tmp_path, root):
    data = _foreign(root) | {"annotations": {"a": 1}}
    with pytest.raises(FormatError, match=r"instances.json: annotations: must be a list"):
        import_coco(_write(tmp_path, data), root)


def test_invalid_json_names_line_and_column(tmp_path, root):
    path = _write(tmp_path, '{"images": [\n  {"id": 1,,}]}')
    with pytest.raises(FormatError, match=r"instances.json: line 2 column 12: invalid JSON"):
        import_coco(path, root)


def test_top_level_must_be_an_object(tmp_path, root):
    with pytest.raises(FormatError, match="top level must be a JSON object"):
        import_coco(_write(tmp_path, "[1, 2]"), root)


def test_compressed_rle_from_pycocotools_round_trips_exactly(tmp_path, root):
    mask = disk()
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode()
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle}],
    }
    (ann,) = import_coco(_write(tmp_path, data), root).coco["annotations"]
    assert np.array_equal(decode_mask(ann["segmentation"]), mask)


def test_symlinked_images_inside_the_root_are_accepted(tmp_path, root):
    elsewhere = write_image(tmp_path / "elsewhere" / "real.png")
    (root / "link.png").symlink_to(elsewhere)
    data = {"images": [{"id": 1, "file_name": "link.png"}], "categories": []}
    result = import_coco(_write(tmp_path, data), root)
    assert result.coco["images"][0]["file_name"] == "link.png"
    assert result.coco["images"][0]["width"] == W


def test_absolute_file_names_inside_the_root_become_relative(tmp_path, root):
    data = {"images": [{"id": 1, "file_name": str(root / "a.png"), "width": W, "height": H}]}
    result = import_coco(_write(tmp_path, data), root)
    assert result.coco["images"][0]["file_name"] == "a.png"
