"""The import and export sub-commands, run in-process through the CLI entry point."""

import base64
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io" / "formats"))
from annotator.cli import main
from annotator.io.coco_store import load_project
from annotator.io.masks import decode_mask
from tests.io.formats.format_fixtures import H, W, make_project, write_image


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, Path]:
    """A COCO file written by 'another tool' and its images root."""
    root = tmp_path / "images"
    coco = make_project(root)
    coco["info"] = {"description": "elsewhere"}
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(coco))
    return path, root


def _masks(doc) -> dict[int, np.ndarray]:
    return {a.id: decode_mask(a.rle) for a in doc.annotations()}


def _import(src: Path, root: Path, out: Path, *extra: str, fmt: str = "coco") -> int:
    return main(["import", str(src), "--format", fmt, "--images-root", str(root),
                 "--output", str(out), *extra])  # fmt: skip


def test_import_coco_creates_a_loadable_project(source, tmp_path, capsys):
    src, root = source
    assert _import(src, root, tmp_path / "project.json") == 0
    assert "imported 4 images, 16 annotations, 2 categories" in capsys.readouterr().out
    doc = load_project(tmp_path / "project.json")
    assert doc.images_root == root
    original = json.loads(src.read_text())
    expected = {a["id"]: decode_mask(a["segmentation"]) for a in original["annotations"]}
    masks = _masks(doc)
    assert masks.keys() == expected.keys()
    assert all(np.array_equal(masks[i], expected[i]) for i in expected)


def test_import_refuses_to_overwrite_without_force(source, tmp_path, capsys):
    src, root = source
    out = tmp_path / "project.json"
    out.write_text("my precious work")
    assert _import(src, root, out) == 1
    assert "already exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "my precious work"
    assert _import(src, root, out, "--force") == 0
    assert load_project(out).annotations()
    assert (tmp_path / "project.json.bak").read_text() == "my precious work"


def test_failed_import_writes_nothing_even_with_force(source, tmp_path, capsys):
    src, root = source
    data = json.loads(src.read_text())
    data["annotations"][5]["category_id"] = 42
    src.write_text(json.dumps(data))
    out = tmp_path / "project.json"
    out.write_text("my precious work")
    assert _import(src, root, out, "--force") == 1
    err = capsys.readouterr().err
    assert "instances.json: annotations[5].category_id: 42 is not the id of a category" in err
    assert out.read_text() == "my precious work"
    assert not (tmp_path / "project.json.bak").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "images",
        "instances.json",
        "project.json",
    ]


def test_import_checks_the_images_root_and_output(source, tmp_path, capsys):
    src, root = source
    assert _import(src, tmp_path / "nope", tmp_path / "p.json") == 1
    assert "is not a folder" in capsys.readouterr().err
    assert _import(src, root, tmp_path, "--force") == 1
    assert "--output must be a project JSON file" in capsys.readouterr().err


def test_import_labelme_writes_embedded_images_only_on_success(tmp_path, capsys):
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
    assert _import(labels, root, tmp_path / "p.json", fmt="labelme") == 0
    captured = capsys.readouterr()
    assert "imported 2 images, 2 annotations, 1 categories" in captured.out
    assert "images written from embedded imageData (no image file found) (b.png)" in captured.err
    assert cv2.imread(str(root / "b.png")).shape == (H, W, 3)
    assert len(load_project(tmp_path / "p.json").annotations()) == 2

    (root / "b.png").unlink()
    broken = json.loads((labels / "a.json").read_text()) | {"shapes": [{"label": "x"}]}
    (labels / "a.json").write_text(json.dumps(broken))
    assert _import(labels, root, tmp_path / "q.json", fmt="labelme") == 1
    assert "a.json: shapes[0].points: must be a list of [x, y] numbers" in capsys.readouterr().err
    assert not (root / "b.png").exists() and not (tmp_path / "q.json").exists()


@pytest.fixture
def project_file(source, tmp_path) -> Path:
    src, root = source
    assert _import(src, root, tmp_path / "project.json") == 0
    return tmp_path / "project.json"


def _export(project: Path, out: Path, fmt: str, *extra: str) -> int:
    return main(["export", str(project), "--format", fmt, "--output", str(out), *extra])


@pytest.mark.parametrize("fmt", ["coco", "coco-polygons", "yolo", "png", "sa1b"])
def test_export_each_format_with_split_and_images(project_file, tmp_path, capsys, fmt):
    out = tmp_path / "out"
    args = ["--split", "train=0.5,val=0.5", "--seed", "1", "--copy-images", "--tolerance", "0.5"]
    assert _export(project_file, out, fmt, *args) == 0
    stdout = capsys.readouterr().out
    assert f"{out / 'train'}: 2 images, 8 annotations ({fmt})" in stdout
    assert f"{out / 'val'}: 2 images, 8 annotations ({fmt})" in stdout
    masks_dirs = {"instances", "semantic"}
    copies = [p for p in out.rglob("*.png") if not masks_dirs & set(p.parts)]
    assert sorted(p.name for p in copies) == ["img1.png", "img2.png", "img3.png", "img4.png"]


def test_export_coco_then_import_gives_identical_masks(project_file, tmp_path):
    assert _export(project_file, tmp_path / "out", "coco") == 0
    exported = tmp_path / "out" / "annotations.json"
    root = load_project(project_file).images_root
    assert _import(exported, root, tmp_path / "again.json") == 0
    assert (
        _masks(load_project(tmp_path / "again.json")).keys()
        == _masks(load_project(project_file)).keys()
    )
    before, after = (
        _masks(load_project(project_file)),
        _masks(load_project(tmp_path / "again.json")),
    )
    assert all(np.array_equal(before[i], after[i]) for i in before)


def test_export_refuses_a_non_empty_folder_without_force(project_file, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _export(project_file, out, "coco") == 1
    assert "is not empty; pass --force" in capsys.readouterr().err
    assert _export(project_file, out, "coco", "--force") == 0
    assert (out / "keep.txt").read_text() == "mine" and (out / "annotations.json").is_file()
    assert _export(project_file, out / "keep.txt", "coco") == 1
    assert "exists and is not a folder" in capsys.readouterr().err


def test_export_of_a_broken_project_names_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert _export(bad, tmp_path / "out", "coco") == 1
    assert "bad.json" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_export_reports_format_errors(project_file, tmp_path, capsys):
    root = load_project(project_file).images_root
    (root / "img2.png").unlink()
    assert _export(project_file, tmp_path / "out", "yolo", "--copy-images") == 1
    assert "img2.png: image file of images[1] does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--split", "train=0.9,val=0.2", "add up to 1"),
        ("--tolerance", "-1", "must be >= 0"),
        ("--tolerance", "abc", "not a number"),
    ],
)
def test_bad_export_options_are_usage_errors(
    project_file, tmp_path, capsys, option, value, message
):
    with pytest.raises(SystemExit) as exc:
        _export(project_file, tmp_path / "out", "yolo", option, value)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


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


def test_yolo_export_without_copy_images_says_where_the_images_go(project_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _export(project_file, out, "yolo") == 0
    stdout = capsys.readouterr().out
    assert f"note: images were not copied; place each image at {out.resolve()}/images/" in stdout
    assert "--copy-images" in stdout
    assert _export(project_file, tmp_path / "copied", "yolo", "--copy-images") == 0
    assert "not copied" not in capsys.readouterr().out
