import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError
from annotator.io.formats.export import export_project
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import SHAPES, H, W, iou, write_image

SHAPE_ORDER = list(SHAPES)  # make_project adds the shapes to every image in this order


def _masks_by_id(coco: dict) -> dict[int, np.ndarray]:
    return {a["id"]: decode_mask(a["segmentation"]) for a in coco["annotations"]}


def test_coco_export_round_trips_masks_exactly(project, tmp_path):
    coco, root = project
    export_project(coco, root, tmp_path / "out", "coco")
    path = tmp_path / "out" / "annotations.json"
    COCO(str(path))  # loads as is in the reference reader
    back = import_coco(path, root).coco
    assert back["categories"] == [{k: c[k] for k in ("id", "name", "supercategory", "color")}
                                  for c in coco["categories"]]  # fmt: skip
    original, imported = _masks_by_id(coco), _masks_by_id(back)
    assert original.keys() == imported.keys()
    for ann_id, mask in original.items():
        assert np.array_equal(imported[ann_id], mask)


def test_coco_polygons_keep_holed_masks_as_rle_and_say_so(project, tmp_path):
    coco, root = project
    report = export_project(coco, root, tmp_path / "out", "coco-polygons")
    exported = json.loads((tmp_path / "out" / "annotations.json").read_text())
    for ann in exported["annotations"]:
        shape = SHAPE_ORDER[(ann["id"] - 1) % 4]
        assert isinstance(ann["segmentation"], dict) == (shape == "ring")
    assert report.warnings == ["4 masks with holes kept as RLE in coco-polygons output "
                               "(annotation 4, annotation 8, annotation 12, ...)"]  # fmt: skip
    COCO(str(tmp_path / "out" / "annotations.json"))
    back = _masks_by_id(import_coco(tmp_path / "out" / "annotations.json", root).coco)
    for ann_id, mask in _masks_by_id(coco).items():
        assert iou(back[ann_id], mask) >= 0.95
        if SHAPE_ORDER[(ann_id - 1) % 4] == "ring":
            assert np.array_equal(back[ann_id], mask)  # unchanged, holes and all


def test_coco_polygons_at_zero_tolerance_are_exact(project, tmp_path):
    coco, root = project
    export_project(coco, root, tmp_path / "out", "coco-polygons", tolerance=0)
    back = _masks_by_id(import_coco(tmp_path / "out" / "annotations.json", root).coco)
    for ann_id, mask in _masks_by_id(coco).items():
        assert np.array_equal(back[ann_id], mask)


def _read_yolo(path: Path) -> list[tuple[int, np.ndarray]]:
    """Reads YOLO label lines and rasterises them the way Ultralytics does (polygon2mask)."""
    rows = []
    for line in path.read_text().splitlines():
        values = line.split()
        xy = np.array(values[1:], dtype=np.float64).reshape(-1, 2) * [W, H]
        mask = np.zeros((H, W), np.uint8)
        cv2.fillPoly(mask, [np.asarray(xy, dtype=np.int32)], color=1)
        rows.append((int(values[0]), mask.astype(bool)))
    return rows


def test_yolo_export_polygons_classes_and_data_yaml(project, tmp_path):
    coco, root = project
    report = export_project(coco, root, tmp_path / "out", "yolo", copy_images=True)
    out = tmp_path / "out"
    rows = _read_yolo(out / "labels" / "sub" / "img1.txt")
    assert [cls for cls, _ in rows] == [0, 1, 0, 1]  # category ids 1 and 3 -> classes 0 and 1
    for (_, mask), name in zip(rows, SHAPE_ORDER, strict=True):
        assert iou(mask, SHAPES[name]()) >= 0.95, name  # the ring's hole survives the bridge
    assert (out / "images" / "sub" / "img1.png").is_file()
    assert (out / "data.yaml").read_text().splitlines() == [
        "# Written by `annotator export --format yolo`.",
        f"path: {json.dumps(out.resolve().as_posix())}  # dataset root",
        "train: images",
        "val: images  # no split was requested",
        "nc: 2",
        "names:",
        '  0: "round"',
        '  1: "box"',
    ]
    assert any("bridged polygon" in w for w in report.warnings)


def test_yolo_lone_pixels_and_slivers_get_three_points(tmp_path):
    from annotator.io.formats.common import annotation_fields

    write_image(tmp_path / "a.png")
    mask = np.zeros((H, W), bool)
    mask[5, 5] = True
    sliver = np.zeros((H, W), bool)
    sliver[20, 10:30] = True
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1} | annotation_fields(mask),
            {"id": 2, "image_id": 1, "category_id": 1} | annotation_fields(sliver),
        ],
    }
    export_project(coco, tmp_path, tmp_path / "out", "yolo")
    rows = _read_yolo(tmp_path / "out" / "labels" / "a.txt")
    lines = (tmp_path / "out" / "labels" / "a.txt").read_text().splitlines()
    assert all(len(line.split()) == 7 for line in lines)
    assert np.array_equal(rows[0][1], mask) and np.array_equal(rows[1][1], sliver)


def test_yolo_image_without_annotations_gets_an_empty_label_file(project, tmp_path):
    coco, root = project
    coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] != 2]
    export_project(coco, root, tmp_path / "out", "yolo")
    assert (tmp_path / "out" / "labels" / "img2.txt").read_text() == ""


def test_png_export_instance_and_palette_semantic_pngs(project, tmp_path):
    from PIL import Image

    coco, root = project
    report = export_project(coco, root, tmp_path / "out", "png", copy_images=True)
    out = tmp_path / "out"
    instances = cv2.imread(str(out / "instances" / "img2.png"), cv2.IMREAD_UNCHANGED)
    assert instances.dtype == np.uint16 and instances.shape == (H, W)
    semantic_image = Image.open(out / "semantic" / "img2.png")
    assert semantic_image.mode == "P"
    semantic = np.array(semantic_image)
    painted = np.zeros((H, W), np.uint16)
    classes = np.zeros((H, W), np.uint8)
    for k, name in enumerate(SHAPE_ORDER, start=1):  # later annotations on top
        painted[SHAPES[name]()] = k
        classes[SHAPES[name]()] = 1 if k % 2 else 2
    assert np.array_equal(instances, painted)
    assert np.array_equal(semantic, classes)
    palette = semantic_image.getpalette()[:9]
    assert palette == [0, 0, 0, 255, 0, 0, 0, 255, 0]  # background, then the category colours
    assert (out / "classes.txt").read_text().splitlines() == ["_background_", "round", "box"]
    assert (out / "images" / "img2.png").is_file()
    assert any("overlapping" in w for w in report.warnings)


def test_sa1b_export_layout_and_exact_rle(project, tmp_path):
    coco, root = project
    report = export_project(coco, root, tmp_path / "out", "sa1b", copy_images=True)
    record = json.loads((tmp_path / "out" / "sub" / "img1.json").read_text())
    assert record["image"] == {"image_id": 1, "width": W, "height": H, "file_name": "img1.png"}
    assert (tmp_path / "out" / "sub" / "img1.png").is_file()  # image next to its JSON
    anns = {a["id"]: a for a in coco["annotations"]}
    for ann in record["annotations"]:
        assert set(ann) == {"id", "segmentation", "bbox", "area", "predicted_iou",
                            "stability_score", "crop_box", "point_coords"}  # fmt: skip
        assert np.array_equal(
            decode_mask(ann["segmentation"]), decode_mask(anns[ann["id"]]["segmentation"])
        )
        assert ann["bbox"] == anns[ann["id"]]["bbox"] and ann["crop_box"] == [0, 0, W, H]
    disk = record["annotations"][0]
    assert (disk["predicted_iou"], disk["stability_score"], disk["point_coords"]) == (
        0.9,
        0.95,
        [[50, 40]],
    )
    assert record["annotations"][1]["predicted_iou"] == 1.0  # unscored: the documented rule
    assert any("without model scores" in w for w in report.warnings)


@pytest.mark.parametrize("fmt", ["coco", "coco-polygons", "yolo", "png", "sa1b"])
def test_split_partitions_images_deterministically(project, tmp_path, fmt):
    coco, root = project
    split = [("train", 0.75), ("val", 0.25)]
    report = export_project(coco, root, tmp_path / "a", fmt, split=split, seed=3)
    again = export_project(coco, root, tmp_path / "b", fmt, split=split, seed=3)
    assert report.images == again.images == {"train": 3, "val": 1}
    assert report.annotations == {"train": 12, "val": 4}
    files_a = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*"))
    files_b = sorted(p.relative_to(tmp_path / "b").as_posix() for p in (tmp_path / "b").rglob("*"))
    assert files_a == files_b
    assert {p.split("/")[0] for p in files_a} <= {"train", "val", "data.yaml"}


def test_split_coco_files_hold_disjoint_images(project, tmp_path):
    coco, root = project
    export_project(coco, root, tmp_path / "out", "coco", split=[("train", 0.5), ("val", 0.5)])
    parts = [
        json.loads((tmp_path / "out" / s / "annotations.json").read_text())
        for s in ("train", "val")
    ]
    ids = [{im["id"] for im in p["images"]} for p in parts]
    assert ids[0].isdisjoint(ids[1]) and ids[0] | ids[1] == {1, 2, 3, 4}
    for part, image_ids in zip(parts, ids, strict=True):
        assert {a["image_id"] for a in part["annotations"]} == image_ids


def test_yolo_data_yaml_lists_the_splits(project, tmp_path):
    coco, root = project
    export_project(coco, root, tmp_path / "out", "yolo", split=[("train", 0.5), ("test", 0.5)])
    lines = (tmp_path / "out" / "data.yaml").read_text().splitlines()
    lines = [line for line in lines if not line.startswith(("#", "path:"))]
    assert lines[0:3] == ["train: train/images", "test: test/images",
                          "val: train/images  # no val split was requested"]  # fmt: skip


def test_images_that_would_share_an_output_file_are_refused(project, tmp_path):
    coco, root = project
    write_image(root / "img2.jpg")
    coco["images"].append({"id": 9, "file_name": "img2.jpg", "width": W, "height": H})
    with pytest.raises(
        FormatError, match=r"img2.jpg: would be exported to img2.txt, like img2.png"
    ):
        export_project(coco, root, tmp_path / "out", "yolo")
    assert not (tmp_path / "out").exists()  # refused before writing anything
    # One annotations.json for all images has no such clash.
    report = export_project(coco, root, tmp_path / "coco", "coco")
    assert report.images[""] == len(coco["images"])


def test_missing_image_with_copy_images_fails_before_writing(project, tmp_path):
    coco, root = project
    (root / "img3.png").unlink()
    with pytest.raises(FormatError, match=r"img3.png: image file of images\[2\] does not exist"):
        export_project(coco, root, tmp_path / "out", "coco", copy_images=True, split=[("a", 1.0)])
    assert not (tmp_path / "out").exists()


def test_png_refuses_more_classes_than_a_palette_holds(project, tmp_path):
    coco, root = project
    coco["categories"] += [
        {"id": 100 + i, "name": f"c{i}", "supercategory": ""} for i in range(254)
    ]
    with pytest.raises(FormatError, match="256 categories; a palette PNG holds 255"):
        export_project(coco, root, tmp_path / "out", "png")
    assert not (tmp_path / "out").exists()


def test_unknown_format_and_negative_tolerance_are_refused(project, tmp_path):
    coco, root = project
    with pytest.raises(ValueError, match="unknown export format 'voc'"):
        export_project(coco, root, tmp_path / "out", "voc")
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        export_project(coco, root, tmp_path / "out", "yolo", tolerance=-1)


def test_yolo_data_yaml_has_the_absolute_dataset_root_as_ultralytics_yamls_do(project, tmp_path):
    coco, root = project
    export_project(coco, root, tmp_path / "out", "yolo", copy_images=True)
    lines = (tmp_path / "out" / "data.yaml").read_text().splitlines()
    paths = [line for line in lines if line.startswith("path:")]
    assert len(paths) == 1
    value = json.loads(paths[0].split(":", 1)[1].split("  #")[0])
    assert Path(value).is_absolute() and Path(value) == (tmp_path / "out").resolve()
    assert lines.index(paths[0]) < lines.index("train: images")  # first, as Ultralytics has it
    assert not any("not copied" in line for line in lines)


def test_yolo_without_copied_images_says_where_they_must_go(project, tmp_path):
    coco, root = project
    report = export_project(
        coco, root, tmp_path / "out", "yolo", split=[("train", 0.5), ("val", 0.5)]
    )
    text = (tmp_path / "out" / "data.yaml").read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("not copied" in c and "train/images/" in c for c in comments), comments
    assert any("train/images/" in n and "--copy-images" in n for n in report.notes), report.notes
