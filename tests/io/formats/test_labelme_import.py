import base64
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from annotator.io.formats.common import FormatError
from annotator.io.formats.labelme_import import import_labelme
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import H, W, write_image


def _png_b64(array: np.ndarray) -> str:
    ok, buf = cv2.imencode(".png", array)
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def _labelme(folder: Path, name: str, image_path: str, shapes: list, **extra) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": image_path,
        "imageData": None, "imageHeight": H, "imageWidth": W,
    } | extra  # fmt: skip
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def _shape(label, kind, points, group_id=None, **extra) -> dict:
    return {"label": label, "points": points, "group_id": group_id, "shape_type": kind} | extra


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_image(tmp_path / "images" / "a.png")
    write_image(tmp_path / "images" / "b.png")
    return tmp_path / "images"


def _masks(result) -> list[tuple[str, np.ndarray]]:
    names = {c["id"]: c["name"] for c in result.coco["categories"]}
    return [
        (names[a["category_id"]], decode_mask(a["segmentation"]))
        for a in result.coco["annotations"]
    ]


def test_polygon_rectangle_circle_and_mask_shapes(tmp_path, root):
    region = np.zeros((11, 21), np.uint8)
    region[2:9, 3:18] = 255
    shapes = [
        _shape("cat", "polygon", [[10, 10], [40, 10], [40, 30], [10, 30.4]]),
        _shape("dog", "rectangle", [[60.2, 50], [50, 40]]),
        _shape("sun", "circle", [[70, 20], [70, 28]]),
        _shape("blob", "mask", [[5, 60], [25, 70]], mask=_png_b64(region)),
    ]
    _labelme(tmp_path / "labels", "a.json", "../images/a.png", shapes)
    result = import_labelme(tmp_path / "labels", root)
    assert result.coco["images"] == [{"id": 1, "file_name": "a.png", "width": W, "height": H}]
    masks = dict(_masks(result))
    assert list(masks) == ["cat", "dog", "sun", "blob"]  # categories in order of appearance
    expected = np.zeros((H, W), bool)
    expected[10:31, 10:41] = True  # LabelMe includes the boundary pixels
    assert np.array_equal(masks["cat"], expected)
    expected = np.zeros((H, W), bool)
    expected[40:51, 50:61] = True  # both corners inclusive, corners given in any order
    assert np.array_equal(masks["dog"], expected)
    assert masks["sun"].sum() == pytest.approx(np.pi * 8**2, rel=0.15)
    assert masks["sun"][20, 70] and not masks["sun"][20, 79]
    expected = np.zeros((H, W), bool)
    expected[62:69, 8:23] = True  # region pasted at [y1:y2+1, x1:x2+1]
    assert np.array_equal(masks["blob"], expected)
    assert result.warnings == [] and result.extracted_images == {}


def test_group_id_merges_shapes_per_label_and_ignore_is_skipped(tmp_path, root):
    shapes = [
        _shape("car", "rectangle", [[0, 0], [9, 9]], group_id=1),
        _shape("car", "rectangle", [[20, 20], [29, 29]], group_id=1),
        _shape("person", "rectangle", [[40, 0], [49, 9]], group_id=1),  # other label: own instance
        _shape("car", "rectangle", [[60, 0], [69, 9]]),  # no group: own instance
        _shape("car", "rectangle", [[60, 20], [69, 29]]),
        _shape("__ignore__", "rectangle", [[0, 40], [9, 49]]),
        _shape("car", "line", [[0, 60], [30, 60]]),
        _shape("car", "point", [[5, 5]]),
        _shape("car", "points", [[5, 5], [7, 7]]),
    ]
    _labelme(tmp_path, "a.json", "images/a.png", shapes)
    result = import_labelme(tmp_path / "a.json", root)  # a single file works too
    masks = _masks(result)
    assert [(name, int(m.sum())) for name, m in masks] == [
        ("car", 200), ("person", 100), ("car", 100), ("car", 100),
        ("car", 31 * 10), ("car", 97),  # labelme's 10 px line and radius-5 point disc
    ]  # fmt: skip
    assert {c["name"] for c in result.coco["categories"]} == {"car", "person"}
    text = "\n".join(result.warnings)
    assert "1 __ignore__ shapes skipped" in text
    assert "1 shapes without area (points) skipped" in text


def test_image_data_is_ignored_when_the_image_file_exists(tmp_path, root):
    other = np.zeros((5, 7, 3), np.uint8)
    _labelme(tmp_path, "b.json", "b.png", [], imageData=_png_b64(other))
    result = import_labelme(tmp_path / "b.json", root)
    assert result.coco["images"][0] == {"id": 1, "file_name": "b.png", "width": W, "height": H}
    assert result.extracted_images == {}


def test_embedded_image_is_extracted_when_the_file_is_missing(tmp_path, root):
    embedded = np.full((30, 40, 3), 7, np.uint8)
    shapes = [_shape("x", "rectangle", [[1, 1], [5, 5]])]
    _labelme(tmp_path / "labels", "c.json", "C:\\data\\c.png", shapes, imageData=_png_b64(embedded),
             imageHeight=None, imageWidth=None)  # fmt: skip
    result = import_labelme(tmp_path / "labels", root)
    assert result.coco["images"][0] == {"id": 1, "file_name": "c.png", "width": 40, "height": 30}
    decoded = cv2.imdecode(
        np.frombuffer(result.extracted_images["c.png"], np.uint8), cv2.IMREAD_COLOR
    )
    assert decoded.shape == (30, 40, 3)
    assert any("embedded imageData" in w for w in result.warnings)
    assert not (root / "c.png").exists()  # writing is the caller's job, after success


def test_other_json_files_are_skipped_with_a_warning(tmp_path, root):
    _labelme(tmp_path / "labels", "a.json", "a.png", [])
    (tmp_path / "labels" / "classes.json").write_text('{"names": ["a"]}')
    result = import_labelme(tmp_path / "labels", root)
    assert len(result.coco["images"]) == 1
    assert any("not LabelMe files" in w and "classes.json" in w for w in result.warnings)


BAD_SHAPES = [
    (_shape("x", "polygon", [[1, 1], [5, 5]]), r"shapes\[0\].points", "at least 3 points"),
    (_shape("x", "polygon", [[1, "a"], [5, 5], [3, 3]]), r"shapes\[0\].points", "numbers"),
    (_shape("x", "rectangle", [[1, 1]]), r"shapes\[0\].points", "needs 2 points"),
    (_shape("x", "hexagon", [[1, 1]]), r"shapes\[0\].shape_type", "unknown shape type"),
    (_shape("", "polygon", [[1, 1]]), r"shapes\[0\].label", "non-empty string"),
    (_shape("x", "rectangle", [[1, 1], [3, 3]], group_id="g"), r"shapes\[0\].group_id", "integer"),
    (_shape("x", "mask", [[0, 0], [9, 9]], mask=_png_b64(np.ones((4, 4), np.uint8))),
     r"shapes\[0\].mask", "is 4x4 px but its box"),
    (_shape("x", "mask", [[0, 0], [9, 9]], mask="%%%"), r"shapes\[0\].mask", "does not decode"),
    (_shape("x", "mask", [[0, 0], [9, 9]]), r"shapes\[0\].mask", "base64-encoded image"),
    ("not a shape", r"shapes\[0\]", "must be an object"),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "place", "reason"), BAD_SHAPES)
def test_bad_shapes_name_file_place_and_reason(tmp_path, root, shape, place, reason):
    _labelme(tmp_path, "a.json", "images/a.png", [shape])
    with pytest.raises(FormatError, match=rf"a.json: {place}: .*{reason}"):
        import_labelme(tmp_path / "a.json", root)


@pytest.mark.parametrize(
    ("extra", "place", "reason"),
    [
        ({"imagePath": "nowhere.png"}, "imagePath", "not found next to the JSON or in"),
        ({"imagePath": None}, "imagePath", "non-empty string"),
        ({"imageWidth": 10}, "imageWidth/imageHeight", r"10x80 disagrees with the image file"),
    ],
)
def test_bad_files_name_file_place_and_reason(tmp_path, root, extra, place, reason):
    _labelme(tmp_path, "a.json", "images/a.png", [], **extra)
    with pytest.raises(FormatError, match=rf"a.json: {place}: .*{reason}"):
        import_labelme(tmp_path / "a.json", root)


def test_shapes_must_be_a_list(tmp_path, root):
    _labelme(tmp_path, "a.json", "images/a.png", {"a": 1})
    with pytest.raises(FormatError, match=r"a.json: shapes: must be a list"):
        import_labelme(tmp_path / "a.json", root)


def test_two_files_for_one_image_are_refused(tmp_path, root):
    _labelme(tmp_path / "labels", "a.json", "a.png", [])
    _labelme(tmp_path / "labels", "a_copy.json", "a.png", [])
    with pytest.raises(FormatError, match=r"a_copy.json: imagePath: a.png is already annotated by"):
        import_labelme(tmp_path / "labels", root)


def test_invalid_json_empty_folder_and_missing_source(tmp_path, root):
    (tmp_path / "labels").mkdir()
    with pytest.raises(FormatError, match=r"no LabelMe \.json files"):
        import_labelme(tmp_path / "labels", root)
    (tmp_path / "labels" / "a.json").write_text('{"shapes": [}')
    with pytest.raises(FormatError, match=r"a.json: line 1 column 13: invalid JSON"):
        import_labelme(tmp_path / "labels", root)
    with pytest.raises(FormatError, match="does not exist"):
        import_labelme(tmp_path / "nope", root)
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "x.json").write_text("[]")
    with pytest.raises(FormatError, match="no LabelMe files found"):
        import_labelme(tmp_path / "only", root)


def test_unreadable_image_and_mask_box_outside_the_image(tmp_path, root):
    (root / "broken.png").write_bytes(b"not a png")
    _labelme(tmp_path, "a.json", "images/broken.png", [])
    with pytest.raises(FormatError, match=r"a.json: imagePath: .*broken.png"):
        import_labelme(tmp_path / "a.json", root)
    region = _png_b64(np.ones((3, 3), np.uint8))
    _labelme(
        tmp_path, "a.json", "images/a.png", [_shape("x", "mask", [[-2, 0], [0, 2]], mask=region)]
    )
    with pytest.raises(FormatError, match=r"shapes\[0\].points: mask box starts outside"):
        import_labelme(tmp_path / "a.json", root)


def test_shapes_outside_the_image_are_skipped_with_a_warning(tmp_path, root):
    shapes = [
        _shape("x", "polygon", [[500, 500], [600, 500], [600, 600]]),
        _shape("y", "rectangle", [[1, 1], [2, 2]]),
    ]
    _labelme(tmp_path, "a.json", "images/a.png", shapes)
    result = import_labelme(tmp_path / "a.json", root)
    assert [name for name, _ in _masks(result)] == ["y"]
    assert any("entirely outside" in w and "shapes[0]" in w for w in result.warnings)
