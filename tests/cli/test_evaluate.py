"""`annotator evaluate` end to end: the outputs, bad ground truth, Ctrl+C, pre-label scores.

The fast tests run the command with a fake oracle model (its masks are the prompt box, or
squares around the clicks); the slow one runs the bundled LiteMedSAM on the sample photos.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from annotator.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_GT = ROOT / "tests" / "data" / "sample_gt.json"


class _Model:
    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.checkpoint_path = f"/models/{model_id}.pth"
        self.model_type = "fake"


class OraclePredictor:
    """Box prompt -> the filled box; clicks -> 9x9 squares around positive clicks minus those
    around negative ones. Counts encodes; restores states like the engine Predictor."""

    def __init__(self, model_id: str, interrupt_on_image: int | None = None) -> None:
        self.model = _Model(model_id)
        self.shape: tuple[int, int] | None = None
        self.encodes = 0
        self.interrupt_on_image = interrupt_on_image

    def set_image(self, image: np.ndarray) -> None:
        self.encodes += 1
        if self.encodes == self.interrupt_on_image:
            raise KeyboardInterrupt
        self.shape = image.shape[:2]

    def get_image_state(self):
        return ("state", self.model.model_id, self.shape)

    def set_image_state(self, state) -> None:
        assert state[1] == self.model.model_id
        self.shape = state[2]

    def predict(
        self, point_coords=None, point_labels=None, box=None, mask_input=None, multimask_output=True
    ):
        assert self.shape is not None
        mask = np.zeros(self.shape, bool)
        if box is not None:
            x0, y0, x1, y1 = (int(np.rint(v)) for v in box)
            mask[y0:y1, x0:x1] = True
        for (x, y), label in zip(
            point_coords if point_coords is not None else [],
            point_labels if point_labels is not None else [],
            strict=True,
        ):
            r, c = int(y), int(x)
            mask[max(r - 4, 0) : r + 5, max(c - 4, 0) : c + 5] = bool(label)
        n = 3 if multimask_output else 1
        return np.stack([mask] * n), np.linspace(0.9, 0.5, n), np.zeros((n, 256, 256), np.float32)


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}


@pytest.fixture
def gt_file(tmp_path: Path) -> Path:
    """Two 60x80 images with squares; a missing image; one malformed, one crowd, one tiny."""
    root = tmp_path / "images"
    root.mkdir()
    anns = []
    for i, name in enumerate(("a.png", "b.png"), start=1):
        cv2.imwrite(str(root / name), np.full((60, 80, 3), 40 * i, np.uint8))
        for j, (x, y, side) in enumerate(((5, 5, 20), (40, 20, 30))):
            mask = np.zeros((60, 80), bool)
            mask[y : y + side, x : x + side] = True
            anns.append(
                {
                    "id": 10 * i + j,
                    "image_id": i,
                    "category_id": 1 + j,
                    "segmentation": _rle(mask),
                    "iscrowd": 0,
                }
            )
    tiny = np.zeros((60, 80), bool)
    tiny[0:2, 0:2] = True
    anns += [
        {"id": 90, "image_id": 1, "category_id": 1, "segmentation": _rle(tiny)},
        {"id": 91, "image_id": 1, "category_id": 1, "segmentation": _rle(tiny), "iscrowd": 1},
        {
            "id": 92,
            "image_id": 2,
            "category_id": 1,
            "segmentation": {"size": [60, 80], "counts": "???"},
        },
        {"id": 93, "image_id": 3, "category_id": 1, "segmentation": _rle(tiny)},
    ]
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "height": 60, "width": 80},
            {"id": 2, "file_name": "b.png", "height": 60, "width": 80},
            {"id": 3, "file_name": "gone.png", "height": 60, "width": 80},
        ],
        "categories": [{"id": 1, "name": "small square"}, {"id": 2, "name": "big square"}],
        "annotations": anns,
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def oracle(monkeypatch):
    made: dict[str, OraclePredictor] = {}

    def make(checkpoint, args):
        key = checkpoint or "default"
        made.setdefault(key, OraclePredictor(key, made.get("interrupt")))
        return made[key]

    monkeypatch.setattr("annotator.cli.evaluate._make_predictor", make)
    return made


def test_interactive_writes_summary_csv_plot_and_reports_bad_gt(gt_file, tmp_path, oracle, capsys):
    out = tmp_path / "eval"
    argv = [
        "evaluate",
        "interactive",
        str(gt_file),
        "--images-root",
        str(tmp_path / "images"),
        "--checkpoint",
        "m1",
        "--checkpoint",
        "m2",
        "--mode",
        "box",
        "--mode",
        "clicks",
        "--max-clicks",
        "4",
        "--min-area",
        "10",
        "-o",
        str(out),
    ]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1  # bad ground truth was found (and skipped)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is False
    assert summary["objects"] == {"evaluated": 4, "skipped_crowd": 1, "skipped_small": 1, "bad": 2}
    reasons = " ".join(b["reason"] for b in summary["bad_objects"])
    assert "gone.png not found" in reasons and "malformed mask" in reasons
    assert list(summary["runs"]) == ["m1 [box]", "m1 [clicks]", "m2 [box]", "m2 [clicks]"]
    box = summary["runs"]["m1 [box]"]["overall"]
    assert box["mIoU"] == [1.0] and box["NoC@90"] == 1 and box["fail@90"] == 0.0
    clicks = summary["runs"]["m1 [clicks]"]
    assert len(clicks["overall"]["mIoU"]) == 4
    assert set(clicks["per_category"]) == {"small square", "big square"}
    # one encoding per model and image: the second mode of a model reuses it
    assert summary["embedding_cache"]["encodes"] == 4 and summary["embedding_cache"]["reuses"] == 4
    assert oracle["m1"].encodes == 2 and oracle["m2"].encodes == 2

    with open(out / "per_object.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4 * 4
    first = next(r for r in rows if r["run"] == "m1 [clicks]")
    assert first["clicks"].startswith("+") and first["iou@4"] != ""
    image = cv2.imread(str(out / "miou_vs_clicks.png"))
    assert image.shape == (500, 800, 3)
    assert "m2 [clicks]" in captured.out and "NoC@85" in captured.out
    assert "gone.png" in captured.err


def test_ctrl_c_writes_a_partial_summary(gt_file, tmp_path, oracle):
    oracle["interrupt"] = 2  # the second encoding of each model raises KeyboardInterrupt
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            "interactive",
            str(gt_file),
            "--images-root",
            str(tmp_path / "images"),
            "-o",
            str(out),
            "--max-clicks",
            "2",
        ]
    )
    assert code == 130
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial"] is True
    assert summary["runs"]["default [clicks]"]["overall"]["objects"] == 3  # all of a.png
    assert (out / "miou_vs_clicks.png").is_file() and (out / "per_object.csv").is_file()


def test_no_usable_ground_truth_is_an_error(tmp_path, oracle, capsys):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps({"images": [], "annotations": []}))
    assert main(["evaluate", "interactive", str(path), "-o", str(tmp_path / "o")]) == 2
    assert "no usable ground-truth objects" in capsys.readouterr().err


def test_prelabels_of_the_ground_truth_itself(tmp_path, capsys):
    data = json.loads(SAMPLE_GT.read_text())
    results = [
        {
            "image_id": a["image_id"],
            "category_id": a["category_id"],
            "score": 1.0,
            "segmentation": a["segmentation"],
        }
        for a in data["annotations"]
    ]
    pred = tmp_path / "results.json"
    pred.write_text(json.dumps(results))
    out = tmp_path / "pre"
    assert main(["evaluate", "prelabels", str(SAMPLE_GT), str(pred), "-o", str(out)]) == 0
    report = json.loads((out / "prelabels.json").read_text())
    assert report["stats"]["segm"]["AP"] == pytest.approx(1.0)
    assert report["stats"]["bbox"]["AP"] == pytest.approx(1.0)
    assert report["matching"]["gt_matched@75"] == 1.0
    assert cv2.imread(str(out / "pr_curve.png")).shape == (500, 800, 3)
    text = capsys.readouterr().out
    assert "segm" in text and "1.000" in text and "100.0% at IoU >= 0.75" in text


@pytest.mark.slow
def test_bundled_model_listed_twice_is_encoded_once(tmp_path, capsys):
    data = json.loads(SAMPLE_GT.read_text())
    keep = next(im["id"] for im in data["images"] if im["file_name"] == "chelsea.jpg")
    data["images"] = [im for im in data["images"] if im["id"] == keep]
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] == keep]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps(data))
    out = tmp_path / "eval"
    code = main(
        [
            "evaluate",
            "interactive",
            str(gt),
            "--images-root",
            str(ROOT / "sample_data"),
            "--checkpoint",
            "lite_medsam",
            "--checkpoint",
            "lite_medsam",
            "--mode",
            "box",
            "--device",
            "cpu",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["embedding_cache"] == {**summary["embedding_cache"], "encodes": 1, "reuses": 1}
    a, b = summary["runs"]["lite_medsam [box]"], summary["runs"]["lite_medsam #2 [box]"]
    assert a["overall"]["mIoU"] == b["overall"]["mIoU"]
    assert 0.5 < a["overall"]["mIoU"][0] <= 1.0
