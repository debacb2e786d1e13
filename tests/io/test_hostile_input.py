"""Hostile or broken input (issue 10, items 5-10 and 18): bounded, with a clear, located error.

One battery, so it is easy to extend: each test names the item it covers.
"""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile
from pycocotools import mask as mask_utils

import annotator.io.images as images_module
from annotator.cli import main
from annotator.io.coco_store import ProjectLoadError, load_project, save_project
from annotator.io.document import Document
from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError
from annotator.io.formats.labelme_import import import_labelme
from annotator.io.images import MAX_SIDE, SIZE_LIMIT, ImageReadError, image_size, read_image
from annotator.io.masks import (
    MAX_POLYGON_OUTLINE,
    POLYGON_MARGIN,
    clip_polygon,
    decode_mask,
    encode_mask,
    rle_from_polygons,
    rle_pixel_count,
    rle_pixel_counts,
)

ROOT = Path(__file__).resolve().parents[2]
H, W = 20, 30


def _image(path: Path, width: int = W, height: int = H) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((height, width, 3), 128, np.uint8))
    return path


def _coco_with_polygon(tmp_path: Path, polygon: list[float]) -> Path:
    _image(tmp_path / "imgs" / "a.png")
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [polygon]}],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path


# ----- item 5: polygon coordinates far outside the image ---------------------------------------
def test_item5_coco_polygon_at_1e9_imports_clipped_in_a_bounded_process(tmp_path):
    source = _coco_with_polygon(tmp_path, [0, 0, 1e9, 0, 1e9, 1e9])
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from annotator.io.formats.coco_import import import_coco
        from annotator.io.masks import decode_mask
        result = import_coco({str(source)!r}, {str(tmp_path / "imgs")!r})
        mask = decode_mask(result.coco["annotations"][0]["segmentation"])
        sys.stdout.write("".join("1" if v else "0" for v in mask.ravel()))
    """)
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]  # today: SIGSEGV (-11) inside pycocotools
    got = np.array([c == "1" for c in run.stdout]).reshape(H, W)
    # The same triangle, ending inside the margin band: the in-image raster must be identical.
    expected = decode_mask(rle_from_polygons([[0, 0, 3 * W, 0, 3 * W, 3 * W]], H, W))
    np.testing.assert_array_equal(got, expected)


def test_item5_polygon_inside_margin_band_is_not_touched():
    xy = np.array([[-POLYGON_MARGIN * W + 1, 3.3], [W + 5.5, -2.0], [10.25, H + 7.0]])
    np.testing.assert_array_equal(clip_polygon(xy, H, W), xy)


def test_item5_clip_keeps_in_image_pixels_of_a_moderately_far_polygon():
    # 1e4 px out is beyond the band yet still safe for pycocotools unclipped: compare the two.
    # (Exact only by example: beyond the band an edge's rounded slope can move a border pixel,
    # as masks.clip_polygon and the README say; inside the band nothing is touched.)
    poly = [2.3, 3.1, 25.7, 4.2, 14.9, 1e4]
    raw = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], H, W))).astype(bool)
    clipped = decode_mask(rle_from_polygons([poly], H, W))
    assert np.count_nonzero(raw != clipped) == 0


def test_item5_coco_polygon_outline_too_long_is_refused_with_its_place(tmp_path):
    zigzag: list[float] = []
    for i in range(20_000):  # inside the margin band, each edge ~230 px: 4.6 M px of outline
        zigzag += [-100.0 if i % 2 else W + 100.0, float(i % H)]
    source = _coco_with_polygon(tmp_path, zigzag)
    with pytest.raises(FormatError, match=r"annotations\[0\]\.segmentation.*limit") as info:
        import_coco(source, tmp_path / "imgs")
    assert str(MAX_POLYGON_OUTLINE) in str(info.value)


def _labelme(tmp_path: Path, shapes: list[dict]) -> Path:
    _image(tmp_path / "imgs" / "a.png")
    data = {"shapes": shapes, "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
    (tmp_path / "lm").mkdir(exist_ok=True)
    path = tmp_path / "lm" / "a.json"
    path.write_text(json.dumps(data))
    return path


def _shape(kind: str, points: list) -> dict:
    return {"label": "x", "points": points, "group_id": None, "shape_type": kind}


def test_item5_labelme_far_polygon_and_rectangle_import_clipped_to_the_border(tmp_path):
    far = _labelme(tmp_path / "far", [
        _shape("polygon", [[2, 2], [1e10, 2], [2, 1e10]]),
        _shape("rectangle", [[5, 5], [1e12, 1e12]]),
    ])  # fmt: skip
    got = import_labelme(far, tmp_path / "far" / "imgs").coco["annotations"]
    assert len(got) == 2
    masks = [decode_mask(a["segmentation"]) for a in got]
    assert masks[1][5:, 5:].all() and not masks[1][:5].any()  # rectangle to the corner
    assert masks[0][2, 2:].all() and masks[0][2:, 2].all()  # both long edges reach the border


def test_item5_labelme_circle_centre_far_outside_is_refused(tmp_path):
    source = _labelme(tmp_path, [_shape("circle", [[1e12, 5], [1e12 + 3, 5]])])
    with pytest.raises(FormatError, match=r"shapes\[0\]\.points.*outside the image"):
        import_labelme(source, tmp_path / "imgs")


def test_item5_labelme_huge_circle_covers_the_image(tmp_path):
    source = _labelme(tmp_path, [_shape("circle", [[10, 10], [10, 1e12]])])
    (ann,) = import_labelme(source, tmp_path / "imgs").coco["annotations"]
    assert decode_mask(ann["segmentation"]).all()


# ----- item 6: decompression bombs ------------------------------------------------------------
@pytest.fixture
def decode_counter(monkeypatch):
    """Counts pixel decodes by Pillow (ImageFile.load) and OpenCV (imdecode) in images.py."""
    calls: list[str] = []
    real_load, real_imdecode = ImageFile.ImageFile.load, cv2.imdecode

    def load(self):
        calls.append("pillow")
        return real_load(self)

    def imdecode(*args, **kwargs):
        calls.append("opencv")
        return real_imdecode(*args, **kwargs)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(images_module.cv2, "imdecode", imdecode)
    return calls


def _wide_png(path: Path) -> Path:
    return _image(path, width=MAX_SIDE + 1, height=1)


def test_item6_over_limit_png_refused_before_any_pixel_is_decoded(tmp_path, decode_counter):
    path = _wide_png(tmp_path / "wide.png")
    for reader in (read_image, image_size):
        with pytest.raises(ImageReadError, match="too large") as info:
            reader(path)
        assert SIZE_LIMIT in str(info.value) and str(path) in str(info.value)
    assert decode_counter == []  # today getexif() decodes the whole PNG first


def test_item6_image_size_reads_the_png_header_only_and_keeps_exif_orientation(
    tmp_path, decode_counter
):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: width and height swap
    buffer = io.BytesIO()
    Image.new("RGB", (40, 10)).save(buffer, "PNG", exif=exif.tobytes())
    data, chunks, at = buffer.getvalue(), [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        chunks.append(data[at : at + 12 + length])
        at += 12 + length
    # eXIf after the pixels (allowed, and what makes Pillow's getexif() decode everything)
    exif_chunk = next(c for c in chunks if c[4:8] == b"eXIf")
    rest = [c for c in chunks if c is not exif_chunk]
    path = tmp_path / "rot.png"
    path.write_bytes(data[:8] + b"".join(rest[:-1]) + exif_chunk + rest[-1])
    assert image_size(path) == (10, 40)
    assert decode_counter == []
    assert read_image(path).shape == (40, 10, 3)  # OpenCV applies it too: the sizes agree


def test_item6_labelme_imagedata_bomb_refused_from_its_header(tmp_path, decode_counter):
    png = _wide_png(tmp_path / "src" / "wide.png").read_bytes()
    source = tmp_path / "lm" / "a.json"
    source.parent.mkdir()
    source.write_text(json.dumps({
        "shapes": [], "imagePath": "wide.png", "imageData": base64.b64encode(png).decode(),
    }))  # fmt: skip
    (tmp_path / "imgs").mkdir()
    with pytest.raises(FormatError, match=r"a\.json: imageData: image is too large"):
        import_labelme(source, tmp_path / "imgs")
    assert "opencv" not in decode_counter


# ----- item 7: the images root a project file records is not trusted ----------------------------
def _project_with_root(tmp_path: Path, recorded: str) -> Path:
    data = {
        "annotator": {"images_root": recorded},
        "images": [{"id": 1, "file_name": "secret.txt", "width": 4, "height": 4}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [],
    }
    path = tmp_path / "proj" / "p.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("recorded", ["OUTSIDE", "../outside", "sub/../../outside"])
def test_item7_export_copy_images_does_not_follow_a_root_outside_the_project(
    tmp_path, capsys, recorded
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0")
    recorded = str(outside) if recorded == "OUTSIDE" else recorded  # absolute, like "/etc"
    project = _project_with_root(tmp_path, recorded)
    out = tmp_path / "dataset"
    code = main(["export", str(project), "--format", "coco", "--output", str(out),
                 "--copy-images"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "p.json" in err and "annotator.images_root" in err and "--images-root" in err
    assert not list(out.rglob("secret.txt"))  # today the secret is copied into the dataset


def test_item7_explicit_images_root_and_roots_inside_the_project_are_used(tmp_path):
    outside = tmp_path / "outside"
    project = _project_with_root(tmp_path, str(outside))
    assert load_project(project, images_root=outside).images_root == outside
    inside = _project_with_root(tmp_path / "b", "imgs/./set1")
    assert load_project(inside).images_root == inside.parent / "imgs" / "set1"
    here = _project_with_root(tmp_path / "c", ".")
    assert load_project(here).images_root == here.parent


# ----- item 8: corrupt RLE counts ---------------------------------------------------------------
def _good_counts() -> str:
    mask = np.zeros((H, W), bool)
    mask[4:12, 5:20] = True
    return encode_mask(mask)["counts"]


def _project(tmp_path: Path, counts: str | None = None, **ann_fields) -> Path:
    segmentation = {"size": [H, W], "counts": _good_counts() if counts is None else counts}
    ann = {"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation} | ann_fields
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": W, "height": H}],
        "categories": [{"id": 1, "name": "x"}],
        "annotations": [ann],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    "counts",
    [
        pytest.param(_good_counts()[:-3], id="truncated"),
        pytest.param(_good_counts()[:-2] + "~" + _good_counts()[-1], id="bad-character"),
        pytest.param(_good_counts()[:3], id="cut-short"),
    ],
)
def test_item8_corrupt_rle_counts_refused_on_load_with_their_place(tmp_path, capsys, counts):
    path = _project(tmp_path, counts)
    with pytest.raises(ProjectLoadError, match=r"annotations\[0\]\.segmentation\.counts") as info:
        load_project(path)
    assert "p.json" in str(info.value)
    code = main(["export", str(path), "--format", "coco", "--output", str(tmp_path / "out")])
    assert code == 1 and "annotations[0].segmentation.counts" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # today: invalid RLE written, exit 0


def test_item8_many_rles_checked_together_match_one_by_one():
    good = _good_counts()
    strings = [good, good[:-3], "", "0", "~~", good[:-2] + "~" + good[-1], good, "1" * 13]
    assert rle_pixel_counts(strings).tolist() == [rle_pixel_count(c) for c in strings]
    assert rle_pixel_counts([good])[0] == H * W


# ----- item 9: unhashable ids -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "value"), [("image_id", [1]), ("category_id", {}), ("image_id", {"a": 1})]
)
def test_item9_unhashable_ids_give_a_located_error_on_load_and_export(tmp_path, capsys, key, value):
    path = _project(tmp_path, **{key: value})
    with pytest.raises(ProjectLoadError, match=rf"annotations\[0\]\.{key}"):
        load_project(path)
    code = main(["export", str(path), "--format", "coco", "--output", str(tmp_path / "out")])
    assert code == 1 and f"annotations[0].{key}" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value"), [("image_id", [1]), ("category_id", {})])
def test_item9_unhashable_ids_give_a_located_error_on_coco_import(tmp_path, key, value):
    source = _coco_with_polygon(tmp_path, [1, 1, 10, 1, 10, 10])
    data = json.loads(source.read_text())
    data["annotations"][0][key] = value
    source.write_text(json.dumps(data))
    with pytest.raises(FormatError, match=rf"instances\.json: annotations\[0\]\.{key}"):
        import_coco(source, tmp_path / "imgs")


def test_item9_unhashable_labelme_shape_type_gives_a_located_error(tmp_path):
    source = _labelme(tmp_path, [_shape([1], [[1, 1], [5, 1], [5, 5]])])  # type: ignore[arg-type]
    with pytest.raises(FormatError, match=r"a\.json: shapes\[0\]\.shape_type"):
        import_labelme(source, tmp_path / "imgs")


# ----- item 10: declared image size differs from the file, or is beyond the limit ---------------
def test_item10_declared_size_beyond_the_limit_refused_on_load_import_and_add(tmp_path):
    from annotator.io.checks import SIZE_LIMIT

    path = _project(tmp_path)
    data = json.loads(path.read_text())
    data["images"][0].update(width=100_000, height=100_000)
    data["annotations"][0]["segmentation"] = {"size": [100_000, 100_000], "counts": "0"}
    path.write_text(json.dumps(data))
    with pytest.raises(ProjectLoadError, match=r"images\[0\]\.width/height") as info:
        load_project(path)
    assert SIZE_LIMIT in str(info.value)
    source = _coco_with_polygon(tmp_path / "imp", [1, 1, 10, 1, 10, 10])
    coco = json.loads(source.read_text())
    coco["images"][0].update(width=100_000, height=100_000)
    source.write_text(json.dumps(coco))
    with pytest.raises(FormatError, match=r"images\[0\].*limit"):
        import_coco(source, tmp_path / "imp" / "imgs")
    with pytest.raises(ValueError, match="limit"):
        Document(tmp_path).add_image("big.png", 100_000, 100_000)


def _rotated_jpeg(path: Path, width: int, height: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated: height x width
    Image.new("RGB", (width, height), "gray").save(path, exif=exif.tobytes())
    return path


def test_item10_read_image_and_check_declared_size_compare_with_the_file(tmp_path):
    from annotator.io.images import ImageSizeMismatchError, check_declared_size

    path = _rotated_jpeg(tmp_path / "r.jpg", 40, 10)  # 10 x 40 once upright
    check_declared_size(path, 10, 40)
    assert read_image(path, expected=(10, 40)).shape == (40, 10, 3)
    for reader in (lambda: check_declared_size(path, 40, 10),
                   lambda: read_image(path, expected=(40, 10))):  # fmt: skip
        with pytest.raises(ImageSizeMismatchError, match=r"r\.jpg.*declares 40x10.*is 10x40"):
            reader()


def test_item10_export_refuses_images_whose_file_has_another_size(tmp_path, capsys):
    path = _project(tmp_path)
    _image(tmp_path / "a.png", width=W + 5, height=H)  # the project says W x H
    out = tmp_path / "out"
    code = main(["export", str(path), "--format", "coco", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "a.png" in err and f"declares {W}x{H}" in err, err
    assert not out.exists()
    _image(tmp_path / "a.png")  # right size: exports
    assert main(["export", str(path), "--format", "coco", "--output", str(out)]) == 0


# ----- item 18: write errors name the user's file, not the hidden temp file ---------------------
def _saved_project(tmp_path: Path) -> tuple[Document, Path]:
    doc = Document(tmp_path)
    doc.add_image("a.png", W, H)
    path = save_project(doc, tmp_path / "annotations.json")
    doc.add_category("more")
    return doc, path


def _assert_names_the_file(exc: OSError, path: Path) -> None:
    assert exc.filename == str(path), exc.filename
    assert str(path) in str(exc) and ".tmp" not in str(exc), str(exc)


def test_item18_full_disk_error_names_the_project_file(tmp_path, monkeypatch):
    doc, path = _saved_project(tmp_path)
    before = path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OSError) as info:
        save_project(doc)
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and "space" in str(info.value)
    _assert_names_the_file(info.value, path)
    assert path.read_bytes() == before and not list(tmp_path.glob(".*.tmp"))


def test_item18_read_only_folder_error_names_the_project_file(tmp_path, monkeypatch):
    doc, path = _saved_project(tmp_path)
    real_open = os.open

    def read_only(name, *args, **kwargs):  # the folder refuses new files, as a read-only one
        if str(name).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(name))
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(PermissionError) as info:
        save_project(doc)
    monkeypatch.undo()
    _assert_names_the_file(info.value, path)
    assert "read-only" in str(info.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes into read-only folders"
)
def test_item18_real_read_only_folder(tmp_path):
    doc, path = _saved_project(tmp_path)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as info:
            save_project(doc)
    finally:
        tmp_path.chmod(0o755)
    _assert_names_the_file(info.value, path)
