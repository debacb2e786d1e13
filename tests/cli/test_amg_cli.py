"""`annotator amg` and `annotator segment` end to end, with the bundled LiteMedSAM model."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.cli import main
from annotator.cli.amg_outputs import PNG_CSV_HEADER
from annotator.io.coco_store import load_project

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
FAST = [
    "--points-per-side",
    "2",
    "--pred-iou-thresh",
    "0",
    "--stability-score-thresh",
    "0",
    "--device",
    "cpu",
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two small photos and a corrupt JPEG."""
    root = tmp_path / "photos"
    root.mkdir()
    for name in ("chelsea", "coffee"):
        image = cv2.imread(str(SAMPLE / f"{name}.jpg"))
        small = cv2.resize(image, (image.shape[1] // 3, image.shape[0] // 3))
        cv2.imwrite(str(root / f"{name}.jpg"), small)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


@pytest.fixture
def tiny_model(monkeypatch):
    """Most tests exercise the command, not the model: a tiny reference model keeps them fast."""
    from segment_anything import SamPredictor

    from tests.engine.sam_tiny import tiny_sam

    predictor = SamPredictor(tiny_sam(seed=0))
    monkeypatch.setattr("annotator.cli.amg.load_predictor", lambda args: predictor)
    return predictor


def run(argv: list[str], capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def test_png_writes_reference_layout_reports_the_corrupt_image_and_resumes(
    folder, tmp_path, capsys, tiny_model
):
    out = tmp_path / "masks"
    code, err = run(["amg", str(folder), "--output", str(out), *FAST], capsys)
    assert code == 1
    assert "broken.jpg" in err and "failed images" in err
    for name in ("chelsea", "coffee"):
        lines = (out / name / "metadata.csv").read_text().splitlines()
        assert lines[0] == PNG_CSV_HEADER
        assert len(lines) > 1
        pngs = sorted((out / name).glob("*.png"))
        assert len(pngs) == len(lines) - 1
        row = lines[1].split(",")
        mask = cv2.imread(str(out / name / f"{row[0]}.png"), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) <= {0, 255}
        assert int((mask > 0).sum()) == int(row[1])  # area column
    assert not (out / "broken").exists()
    assert not list(out.glob(".*tmp*"))

    stamp = (out / "chelsea" / "metadata.csv").stat().st_mtime_ns
    (out / ".coffee.tmp-99999").mkdir()  # what a killed run leaves behind
    cv2.imwrite(str(folder / "later.png"), np.full((60, 80, 3), 128, np.uint8))
    code, err = run(["amg", str(folder), "--output", str(out), *FAST], capsys)
    assert "2 of 4 images already done" in err
    assert (out / "chelsea" / "metadata.csv").stat().st_mtime_ns == stamp
    assert (out / "later" / "metadata.csv").is_file()
    assert not (out / ".coffee.tmp-99999").exists()
    assert code == 1  # the corrupt file is tried again and still fails


def test_coco_output_is_a_project_the_store_opens(folder, tmp_path, capsys, tiny_model):
    out = tmp_path / "auto.json"
    code, _ = run(["amg", str(folder), "--output", str(out), "--format", "coco", *FAST], capsys)
    assert code == 1
    doc = load_project(out)
    assert doc.images_root.resolve() == folder.resolve()
    names = sorted(img.file_name for img in doc.images())
    assert names == ["chelsea.jpg", "coffee.jpg"]
    anns = doc.annotations()
    assert anns
    assert {"predicted_iou", "stability_score", "point_coords", "model"} <= set(anns[0].provenance)
    raw = json.loads(out.read_text())
    assert all(isinstance(a["segmentation"]["counts"], str) for a in raw["annotations"])
    assert raw["categories"][0]["color"].startswith("#")


def test_coco_interrupt_leaves_a_valid_project_and_resumes(
    folder, tmp_path, capsys, monkeypatch, tiny_model
):
    from annotator.engine.amg import AutomaticMaskGenerator

    (folder / "broken.jpg").unlink()
    out = tmp_path / "auto.json"
    real = AutomaticMaskGenerator.generate
    calls = []

    def interrupt_second(self, image):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, image)

    monkeypatch.setattr(AutomaticMaskGenerator, "generate", interrupt_second)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST], capsys)
    assert code == 130 and "interrupted" in err
    assert [img.file_name for img in load_project(out).images()] == ["chelsea.jpg"]

    monkeypatch.setattr(AutomaticMaskGenerator, "generate", real)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST], capsys)
    assert code == 0 and "1 of 2 images already done" in err
    assert sorted(i.file_name for i in load_project(out).images()) == ["chelsea.jpg", "coffee.jpg"]

    # Edited in the app since: a re-run must not overwrite the user's work.
    edited = out.read_text().replace('"name": "object"', '"name": "thing"')
    out.write_text(edited)
    code, err = run(["amg", str(folder), "-o", str(out), "--format", "coco", *FAST], capsys)
    assert code == 2 and "edited" in err
    assert out.read_text() == edited


def test_sa1b_with_the_bundled_box_model_warns_and_writes_json(folder, tmp_path, capsys):
    out = tmp_path / "sa1b"
    code, err = run(["amg", str(folder / "coffee.jpg"), "-o", str(out), "--format", "sa1b", *FAST],
                  capsys)  # fmt: skip
    assert code == 0
    assert "LiteMedSAM" in err and "segment --boxes" in err  # the box-model warning
    data = json.loads((out / "coffee.json").read_text())
    h, w = 400 // 3, 600 // 3
    assert data["image"] == {"file_name": "coffee.jpg", "width": w, "height": h}
    assert data["annotations"]
    for ann in data["annotations"]:
        rle = ann["segmentation"]
        assert rle["size"] == [h, w]
        decoded = mask_utils.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        assert int(decoded.sum()) == ann["area"]


def test_missing_input_is_a_clear_error(tmp_path, capsys):
    code, err = run(["amg", str(tmp_path / "nope"), "-o", str(tmp_path / "o")], capsys)
    assert code == 2 and "nope" in err


BOXES = {
    "astronaut.jpg": [[150, 15, 160, 180, 1]],  # the astronaut's head and helmet
    "coffee.jpg": [[120, 20, 420, 330, 2], [0, 0, 130, 150, 3]],
}


def _overlap(a: list[float], b: list[float]) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    iw = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    ih = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def test_segment_results_list_with_the_bundled_model(tmp_path, capsys):
    dets = [
        {"image_id": name, "category_id": cat, "bbox": box[:4], "score": 0.5 + 0.1 * i}
        for name, boxes in BOXES.items()
        for i, (*box, cat) in enumerate(boxes)
    ]
    dets.append({"image_id": "missing.jpg", "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1})
    boxes_path = tmp_path / "dets.json"
    boxes_path.write_text(json.dumps(dets))
    out = tmp_path / "masks.json"
    code, err = run(
        ["segment", str(SAMPLE), "--boxes", str(boxes_path), "-o", str(out), "--device", "cpu"],
        capsys,
    )
    assert code == 1 and "missing.jpg" in err  # reported, the rest still segmented
    doc = load_project(out, images_root=SAMPLE)  # outside out's folder: named explicitly
    anns = doc.annotations()
    assert len(anns) == 3
    for ann in anns:
        file_name = doc.image(ann.image_id).file_name
        match = [b for b in BOXES[file_name] if b[4] == ann.category_id]
        assert len(match) == 1
        assert _overlap(list(ann.bbox), match[0][:4]) > 0.3
        assert ann.provenance["box"][0] == pytest.approx(match[0][0])
        assert 0.5 <= ann.provenance["score"] <= 0.7


def test_segment_coco_file_with_bbox_only_annotations(tmp_path, capsys):
    coco = {
        "images": [{"id": 7, "file_name": "astronaut.jpg", "width": 512, "height": 512}],
        "categories": [{"id": 4, "name": "astronaut"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 4, "bbox": [150, 15, 160, 180]}],
    }
    boxes_path = tmp_path / "gt.json"
    boxes_path.write_text(json.dumps(coco))
    out = tmp_path / "masks.json"
    code, _ = run(["segment", str(SAMPLE), "--boxes", str(boxes_path), "-o", str(out)], capsys)
    assert code == 0
    doc = load_project(out, images_root=SAMPLE)  # outside out's folder: named explicitly
    (ann,) = doc.annotations()
    assert doc.category(ann.category_id).name == "astronaut"
    assert _overlap(list(ann.bbox), [150, 15, 160, 180]) > 0.3


def test_segment_bad_detections_file_names_it(tmp_path, capsys):
    bad = tmp_path / "dets.json"
    bad.write_text('[{"image_id": "astronaut.jpg", "bbox": [1, 2]}]')
    code, err = run(["segment", str(SAMPLE), "--boxes", str(bad), "-o", str(tmp_path / "o.json")],
                    capsys)  # fmt: skip
    assert code == 2 and str(bad) in err and "bbox" in err


def test_sample_detections_file_matches_the_sample_photos():
    """The README's `annotator segment` example input: every box maps to a sample photo."""
    from annotator.cli.segment_boxes import load_detections

    files = sorted(p.name for p in SAMPLE.glob("*.jpg"))
    by_file, categories, unmatched = load_detections(SAMPLE / "detections.json", None, files)
    assert unmatched == []
    assert sorted(by_file) == files
    assert sum(len(d) for d in by_file.values()) == 9
    assert {"person", "cup", "cat", "rocket"} <= set(categories.values())


def test_results_list_matched_through_images_json_and_numeric_stems(tmp_path):
    from annotator.cli.segment_boxes import load_detections

    files = ["000000000042.jpg", "b.jpg"]
    dets = [
        {"image_id": 42, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
    ]
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    by_file, _, unmatched = load_detections(path, None, files)
    assert list(by_file) == ["000000000042.jpg"] and unmatched == ["7"]
    images = tmp_path / "images.json"
    images.write_text(json.dumps({"images": [{"id": 7, "file_name": "b.jpg"}],
                                  "categories": [{"id": 1, "name": "thing"}]}))  # fmt: skip
    by_file, categories, unmatched = load_detections(path, images, files)
    assert list(by_file) == ["b.jpg"] and unmatched == ["42"] and categories == {1: "thing"}


def test_output_names_mirror_sub_folders_and_avoid_collisions(tmp_path):
    from annotator.cli.amg_outputs import make_items

    paths = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "sub" / "b.jpg"]
    keys = [item.key for item in make_items(paths, tmp_path)]
    assert keys == ["a_jpg", "a_png", "sub/b"]
