"""labelme's placeholder categories and category order (issue 10 item 2).

labelme2coco writes ``_background_`` as category 0 (and labels.txt starts with ``__ignore__``
and ``_background_``); neither is an object class, so an unused one must not become a class.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError, annotation_fields
from annotator.io.formats.export import export_project
from annotator.io.formats.labelme_import import import_labelme
from tests.io.formats.format_fixtures import H, W, write_image


def _box(x0: int, y0: int) -> dict:
    mask = np.zeros((H, W), bool)
    mask[y0 : y0 + 10, x0 : x0 + 10] = True
    return annotation_fields(mask)


def _labelme2coco(tmp_path: Path) -> Path:
    """A COCO file as labelme2coco writes it: ids from 0, ``_background_`` first and unused."""
    write_image(tmp_path / "a.png")
    data = {
        "images": [{"id": 0, "file_name": "a.png", "width": W, "height": H}],
        "categories": [
            {"id": 0, "name": "_background_", "supercategory": None},
            {"id": 1, "name": "cat", "supercategory": None},
            {"id": 2, "name": "dog", "supercategory": None},
        ],
        "annotations": [
            {"id": 0, "image_id": 0, "category_id": 1} | _box(5, 5),
            {"id": 1, "image_id": 0, "category_id": 2} | _box(40, 40),
        ],
    }
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_import_drops_labelme2coco_background_category(tmp_path):
    result = import_coco(_labelme2coco(tmp_path), tmp_path)
    assert [(c["id"], c["name"]) for c in result.coco["categories"]] == [(1, "cat"), (2, "dog")]
    assert any("_background_" in w and "dropped" in w for w in result.warnings)
    assert not any("category ids below 1 renumbered" in w for w in result.warnings)


def test_yolo_export_of_a_labelme2coco_import_has_only_the_real_classes(tmp_path):
    result = import_coco(_labelme2coco(tmp_path), tmp_path)
    export_project(result.coco, tmp_path, tmp_path / "yolo", "yolo")
    text = (tmp_path / "yolo" / "data.yaml").read_text()
    assert "nc: 2" in text and "_background_" not in text
    export_project(result.coco, tmp_path, tmp_path / "png", "png")
    classes = (tmp_path / "png" / "classes.txt").read_text().splitlines()
    assert classes == ["_background_", "cat", "dog"]  # the PNG background, once


def test_placeholder_categories_with_annotations_are_kept(tmp_path):
    path = _labelme2coco(tmp_path)
    data = json.loads(path.read_text())
    data["categories"].append({"id": 3, "name": "__ignore__"})
    data["annotations"][1]["category_id"] = 0  # someone did label a region _background_
    path.write_text(json.dumps(data))
    result = import_coco(path, tmp_path)
    names = [c["name"] for c in result.coco["categories"]]
    assert names == ["_background_", "cat", "dog"]  # only the unused placeholder goes
    assert any("__ignore__" in w and "dropped" in w for w in result.warnings)


def _labelme_file(folder: Path, name: str, labels: list[str]) -> None:
    shapes = [
        {"label": label, "points": [[5 + 20 * i, 5], [15 + 20 * i, 15]], "shape_type": "rectangle"}
        for i, label in enumerate(labels)
    ]
    data = {"shapes": shapes, "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
    (folder / name).write_text(json.dumps(data))


def test_labelme_categories_are_sorted_by_name_so_repeated_imports_agree(tmp_path):
    write_image(tmp_path / "a.png")
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _labelme_file(tmp_path / "one", "a.json", ["zebra", "cat", "moose"])
    _labelme_file(tmp_path / "two", "a.json", ["moose", "zebra", "cat"])
    first = import_labelme(tmp_path / "one", tmp_path).coco["categories"]
    second = import_labelme(tmp_path / "two", tmp_path).coco["categories"]
    assert [(c["id"], c["name"]) for c in first] == [(1, "cat"), (2, "moose"), (3, "zebra")]
    assert first == second


def test_labelme_labels_file_fixes_category_order_and_ids(tmp_path):
    write_image(tmp_path / "a.png")
    _labelme_file(tmp_path, "a.json", ["cat", "zebra"])
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\nzebra\nmoose\ncat\n")
    result = import_labelme(tmp_path / "a.json", tmp_path, labels=labels)
    # labelme2coco's ids: __ignore__ -1 (skipped), _background_ 0 (not a class), then 1, 2...
    cats = [(c["id"], c["name"]) for c in result.coco["categories"]]
    assert cats == [(1, "zebra"), (2, "moose"), (3, "cat")]
    by_name = {c["name"]: c["id"] for c in result.coco["categories"]}
    shape_labels = ["cat", "zebra"]  # annotations follow the shapes
    assert [a["category_id"] for a in result.coco["annotations"]] == [
        by_name[n] for n in shape_labels
    ]
    assert any("_background_" in w and "dropped" in w for w in result.warnings)


def test_labelme_label_missing_from_the_labels_file_is_an_error(tmp_path):
    write_image(tmp_path / "a.png")
    _labelme_file(tmp_path, "a.json", ["cat", "owl"])
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\ncat\n")
    with pytest.raises(FormatError, match=r"a.json: shapes\[1\].label: 'owl' is not in .*labels"):
        import_labelme(tmp_path / "a.json", tmp_path, labels=labels)
    labels.write_text("cat\ncat\n")
    with pytest.raises(FormatError, match=r"labels.txt: line 2: 'cat' repeats line 1"):
        import_labelme(tmp_path / "a.json", tmp_path, labels=labels)
