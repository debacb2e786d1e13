"""`annotator import`, run in-process through the CLI entry point."""

import base64
import json

import cv2
import numpy as np

from annotator.cli import main
from annotator.io.coco_store import load_project
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import H, W, write_image


def _masks(doc) -> dict[int, np.ndarray]:
    return {a.id: decode_mask(a.rle) for a in doc.annotations()}


def test_import_coco_creates_a_loadable_project(source, tmp_path, capsys, run_import):
    src, root = source
    assert run_import(src, root, tmp_path / "project.json") == 0
    assert "imported 4 images, 16 annotations, 2 categories" in capsys.readouterr().out
    doc = load_project(tmp_path / "project.json")
    assert doc.images_root == root
    original = json.loads(src.read_text())
    expected = {a["id"]: decode_mask(a["segmentation"]) for a in original["annotations"]}
    masks = _masks(doc)
    assert masks.keys() == expected.keys()
    assert all(np.array_equal(masks[i], expected[i]) for i in expected)


def test_import_refuses_to_overwrite_without_force(source, tmp_path, capsys, run_import):
    src, root = source
    out = tmp_path / "project.json"
    out.write_text("my precious work")
    assert run_import(src, root, out) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "my precious work"
    assert run_import(src, root, out, "--force") == 0
    assert load_project(out).annotations()
    assert (tmp_path / "project.json.bak").read_text() == "my precious work"


def test_failed_import_writes_nothing_even_with_force(source, tmp_path, capsys, run_import):
    src, root = source
    data = json.loads(src.read_text())
    data["annotations"][5]["category_id"] = 42
    src.write_text(json.dumps(data))
    out = tmp_path / "project.json"
    out.write_text("my precious work")
    assert run_import(src, root, out, "--force") == 1
    err = capsys.readouterr().err
    assert "instances.json: annotations[5].category_id: 42 is not the id of a category" in err
    assert out.read_text() == "my precious work"
    assert not (tmp_path / "project.json.bak").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "images",
        "instances.json",
        "project.json",
    ]


def test_import_checks_the_images_root_and_output(source, tmp_path, capsys, run_import):
    src, root = source
    assert run_import(src, tmp_path / "nope", tmp_path / "p.json") == 1
    assert "is not a folder" in capsys.readouterr().err
    assert run_import(src, root, tmp_path, "--force") == 1
    assert "--output must be a project JSON file" in capsys.readouterr().err


def test_import_labelme_writes_embedded_images_only_on_success(tmp_path, capsys, run_import):
    root = tmp_path / "images"
    write_image(root / "a.png")
    labels = tmp_path / "labels"
    labels.mkdir()
    _, png = cv2.imencode(".png", np.zeros((H, W, 3), np.uint8))
    shape = {
        "label": "cat",
        "points": [[1, 1], [9, 9]],
        "shape_type": "rectangle",
        "group_id": None,
    }
    for name, image in (("a", "a.png"), ("b", "b.png")):
        (labels / f"{name}.json").write_text(json.dumps({
            "shapes": [shape], "imagePath": image, "imageHeight": H, "imageWidth": W,
            "imageData": base64.b64encode(png.tobytes()).decode(),
        }))  # fmt: skip
    assert run_import(labels, root, tmp_path / "p.json", fmt="labelme") == 0
    captured = capsys.readouterr()
    assert "imported 2 images, 2 annotations, 1 categories" in captured.out
    assert "images written from embedded imageData (no image file found) (b.png)" in captured.err
    assert cv2.imread(str(root / "b.png")).shape == (H, W, 3)
    assert len(load_project(tmp_path / "p.json").annotations()) == 2

    (root / "b.png").unlink()
    broken = json.loads((labels / "a.json").read_text()) | {"shapes": [{"label": "x"}]}
    (labels / "a.json").write_text(json.dumps(broken))
    assert run_import(labels, root, tmp_path / "q.json", fmt="labelme") == 1
    assert "a.json: shapes[0].points: must be a list of [x, y] numbers" in capsys.readouterr().err
    assert not (root / "b.png").exists() and not (tmp_path / "q.json").exists()


def test_cli_import_takes_labels_for_labelme_only(tmp_path, capsys):
    write_image(tmp_path / "a.png")
    shapes = [
        {"label": label, "points": [[5 + 20 * i, 5], [15 + 20 * i, 15]], "shape_type": "rectangle"}
        for i, label in enumerate(["cat", "zebra"])
    ]
    data = {"shapes": shapes, "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
    (tmp_path / "a.json").write_text(json.dumps(data))
    labels = tmp_path / "labels.txt"
    labels.write_text("__ignore__\n_background_\nzebra\ncat\n")
    args = ["import", str(tmp_path / "a.json"), "--images-root", str(tmp_path), "--labels",
            str(labels)]  # fmt: skip
    assert main([*args, "--format", "labelme", "--output", str(tmp_path / "p.json")]) == 0
    doc = load_project(tmp_path / "p.json")
    assert [(c.id, c.name) for c in doc.categories()] == [(1, "zebra"), (2, "cat")]
    assert "_background_" in capsys.readouterr().err  # the dropped placeholder is noted
    assert main([*args, "--format", "coco", "--output", str(tmp_path / "q.json")]) == 1
    assert "--labels" in capsys.readouterr().err
