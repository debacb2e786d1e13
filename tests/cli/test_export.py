"""`annotator export`, run in-process through the CLI entry point, on a project that
`annotator import` wrote (the `project_file` fixture)."""

from pathlib import Path

import numpy as np
import pytest

from annotator.cli import main
from annotator.io.coco_store import load_project
from annotator.io.masks import decode_mask


def _masks(doc) -> dict[int, np.ndarray]:
    return {a.id: decode_mask(a.rle) for a in doc.annotations()}


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


def test_export_coco_then_import_gives_identical_masks(project_file, tmp_path, run_import):
    assert _export(project_file, tmp_path / "out", "coco") == 0
    exported = tmp_path / "out" / "annotations.json"
    root = load_project(project_file).images_root
    assert run_import(exported, root, tmp_path / "again.json") == 0
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


def test_yolo_export_without_copy_images_says_where_the_images_go(project_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert _export(project_file, out, "yolo") == 0
    stdout = capsys.readouterr().out
    assert f"note: images were not copied; place each image at {out.resolve()}/images/" in stdout
    assert "--copy-images" in stdout
    assert _export(project_file, tmp_path / "copied", "yolo", "--copy-images") == 0
    assert "not copied" not in capsys.readouterr().out
