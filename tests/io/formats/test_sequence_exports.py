"""Exports of sequence projects: the new davis and mot formats, read back and checked, and the
existing formats on frames (video, frame_index, track_id kept; splits keep videos whole)."""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from annotator.io.document import Document
from annotator.io.formats.common import FormatError
from annotator.io.formats.davis_export import davis_palette
from annotator.io.formats.export import export_project
from annotator.io.masks import decode_mask
from annotator.io.sequence import video_frame_name
from tests.io.formats.format_fixtures import H, W, disk, rectangle

FRAMES = 6


def moving_disk(i: int) -> np.ndarray:
    return disk(center=(25 + 8 * i, 40), radius=12)


def write_frame(path: Path, i: int) -> None:
    """A smooth frame (gradients shifted by i): JPEG keeps it close, unlike noise."""
    y, x = np.mgrid[:H, :W]
    image = np.stack([(x * 2 + 10 * i) % 256, y * 3, (x + y + 40 * i) % 256], -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image.astype(np.uint8))


def sequence_project(root: Path) -> dict[str, Any]:
    """Folder ``clip`` (6 PNG frames): a disk moving right (track 3) on every frame, a
    rectangle (track 7) on frames 1-4 that the disk passes over, an untracked mask on frame
    2, nothing on frame 5's second object; video ``walk.mp4`` (3 frames, no file): track 3."""
    doc = Document(root, categories=["ball", "brick"])
    for i in range(FRAMES):
        name = f"clip/{i:05d}.png"
        write_frame(root / name, i)
        image = doc.add_image(name, W, H, video="clip", frame_index=i)
        if 1 <= i <= 4:
            doc.add_annotation(image, 2, rectangle(), track_id=7)
        doc.add_annotation(image, 1, moving_disk(i), track_id=3)  # later: on top
        if i == 2:
            corner = np.zeros((H, W), bool)
            corner[70:78, 2:9] = True
            doc.add_annotation(image, 1, corner)
    for i in range(3):
        image = doc.add_image(video_frame_name("walk.mp4", i), W, H, video="walk.mp4",
                              frame_index=i)  # fmt: skip
        doc.add_annotation(image, 1, moving_disk(i), track_id=3)
    return doc.to_coco()


@pytest.fixture
def sequence(tmp_path) -> tuple[dict[str, Any], Path]:
    root = tmp_path / "images"
    return sequence_project(root), root


def _read_palette_png(path: Path) -> tuple[np.ndarray, list[int]]:
    with Image.open(path) as image:
        assert image.mode == "P"
        return np.array(image), image.getpalette()


def test_davis_one_palette_png_per_frame_indexed_by_track_id(sequence, tmp_path):
    coco, root = sequence
    out = tmp_path / "davis"
    report = export_project(coco, root, out, "davis")
    assert report.warnings == [
        "1 annotations without a track_id exported as objects of their own "
        "(annotation 6 as object 8)",
        "4 objects overlapping earlier ones (drawn on top) (annotation 3, annotation 5, "
        "annotation 8, ...)",
    ]
    names = sorted(p.name for p in (out / "Annotations" / "clip").iterdir())
    assert names == [f"{i:05d}.png" for i in range(FRAMES)]
    assert sorted(p.name for p in (out / "Annotations" / "walk").iterdir()) == [
        "00000.png", "00001.png", "00002.png",
    ]  # fmt: skip
    flat = [v for rgb in davis_palette() for v in rgb]
    for i in range(FRAMES):
        label, palette = _read_palette_png(out / "Annotations" / "clip" / f"{i:05d}.png")
        assert palette[: len(flat)] == flat and palette[3:6] == [128, 0, 0]
        assert label.shape == (H, W) and label.dtype == np.uint8
        expected = np.zeros((H, W), np.uint8)
        if 1 <= i <= 4:
            expected[rectangle()] = 7
        expected[moving_disk(i)] = 3
        if i == 2:
            expected[70:78, 2:9] = 8
        np.testing.assert_array_equal(label, expected)  # the same value for an object always
    lines = (out / "palette.txt").read_text().splitlines()
    assert len(lines) == 256 and lines[0] == "0 0 0" and lines[3] == "128 128 0"
    meta = json.loads((out / "meta.json").read_text())
    clip = meta["videos"]["clip"]
    assert clip["video"] == "clip"
    assert clip["objects"]["3"] == {"category": "ball", "frames": [f"{i:05d}" for i in range(6)]}
    assert clip["objects"]["7"] == {"category": "brick", "frames": ["00001", "00002", "00003",
                                                                    "00004"]}  # fmt: skip
    assert clip["objects"]["8"]["frames"] == ["00002"]


def test_davis_copies_frames_as_jpegs(sequence, tmp_path):
    coco, root = sequence
    coco["images"] = [im for im in coco["images"] if im["video"] == "clip"]
    out = tmp_path / "davis"
    export_project(coco, root, out, "davis", copy_images=True)
    for i in range(FRAMES):
        jpeg = cv2.imread(str(out / "JPEGImages" / "clip" / f"{i:05d}.jpg"))
        source = cv2.imread(str(root / f"clip/{i:05d}.png"))
        assert jpeg.shape == source.shape
        assert np.abs(jpeg.astype(int) - source).mean() < 3  # the same frame, re-encoded


def test_copying_frames_of_a_missing_video_fails_before_writing(sequence, tmp_path):
    coco, root = sequence
    out = tmp_path / "davis"
    with pytest.raises(FormatError, match=r"images\[6\].*video 'walk.mp4' exists"):
        export_project(coco, root, out, "davis", copy_images=True)
    assert not out.exists()


def test_davis_refuses_ids_beyond_the_palette_and_plain_images(sequence, tmp_path):
    coco, root = sequence
    coco["annotations"][0]["track_id"] = 256
    with pytest.raises(FormatError, match="object id 256 does not fit a DAVIS palette PNG"):
        export_project(coco, root, tmp_path / "a", "davis")
    coco["annotations"][0]["track_id"] = 7
    coco["images"].append({"id": 99, "file_name": "still.png", "width": W, "height": H})
    for fmt in ("davis", "mot"):
        with pytest.raises(FormatError, match=r"images\[9\].*'still.png' is not a sequence"):
            export_project(coco, root, tmp_path / fmt, fmt)


def _mot_rows(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2)


def test_mot_gt_boxes_per_frame_with_track_ids(sequence, tmp_path):
    coco, root = sequence
    out = tmp_path / "mot"
    export_project(coco, root, out, "mot")
    rows = _mot_rows(out / "clip" / "gt" / "gt.txt")
    assert rows.shape == (FRAMES + 4 + 1, 10)
    assert rows[:, 6:].tolist() == [[1, -1, -1, -1]] * len(rows)
    order = [(int(f), int(i)) for f, i in rows[:, :2]]
    assert order == sorted(order) and order[0] == (1, 3)  # 1-based frames, then by id
    by_key = {(int(r[0]), int(r[1])): r[2:6].tolist() for r in rows}
    for i in range(FRAMES):
        box = mask_utils.toBbox(mask_utils.encode(np.asfortranarray(moving_disk(i)))).tolist()
        assert by_key[(i + 1, 3)] == box
        assert ((i + 1, 7) in by_key) == (1 <= i <= 4)
    assert by_key[(3, 8)] == [2, 70, 7, 8]  # the untracked mask, object 8 on frame 2
    info = configparser.ConfigParser()
    info.read(out / "clip" / "seqinfo.ini")
    assert dict(info["Sequence"]) == {"name": "clip", "imdir": "img1", "seqlength": "6",
        "imwidth": str(W), "imheight": str(H), "imext": ".jpg"}  # fmt: skip
    walk = _mot_rows(out / "walk" / "gt" / "gt.txt")
    assert walk[:, :2].tolist() == [[1, 3], [2, 3], [3, 3]]


def test_mot_joins_two_masks_of_one_track_on_a_frame(sequence, tmp_path):
    coco, root = sequence
    for ann in coco["annotations"]:
        if ann["image_id"] == 3 and "track_id" not in ann:
            ann["track_id"] = 7  # a second piece of the rectangle's track
    export_project(coco, root, tmp_path / "mot", "mot")
    rows = _mot_rows(tmp_path / "mot" / "clip" / "gt" / "gt.txt")
    box = [r[2:6].tolist() for r in rows if r[0] == 3 and r[1] == 7]
    assert box == [[2, 10, 78, 68]]  # rectangle 20..80 x 10..35 joined with 2..9 x 70..78


@pytest.mark.parametrize("fmt", ["coco", "coco-polygons", "yolo", "png", "sa1b"])
def test_existing_formats_export_sequence_projects(sequence, tmp_path, fmt):
    coco, root = sequence
    out = tmp_path / fmt
    report = export_project(coco, root, out, fmt)
    assert report.images == {"": 9} and report.annotations == {"": 14}
    if fmt == "coco":
        exported = json.loads((out / "annotations.json").read_text())
        assert [(im["video"], im["frame_index"]) for im in exported["images"]][5:7] == [
            ("clip", 5), ("walk.mp4", 0),
        ]  # fmt: skip
        assert [a.get("track_id") for a in exported["annotations"][:6]] == [3, 7, 3, 7, 3, None]
        COCO(str(out / "annotations.json"))
    elif fmt == "yolo":
        assert (out / "labels" / "clip" / "00002.txt").read_text().count("\n") == 3
        assert (out / "labels" / "walk" / "00001.txt").read_text().count("\n") == 1
    elif fmt == "png":
        instances = cv2.imread(str(out / "instances" / "clip" / "00003.png"), -1)
        assert sorted(np.unique(instances).tolist()) == [0, 1, 2]
    elif fmt == "sa1b":
        part = json.loads((out / "clip" / "00000.json").read_text())
        assert np.array_equal(decode_mask(part["annotations"][0]["segmentation"]), moving_disk(0))


def test_split_keeps_each_video_whole(sequence, tmp_path):
    coco, root = sequence
    report = export_project(coco, root, tmp_path / "out", "davis", split=[("train", 0.5),
                            ("val", 0.5)], seed=3)  # fmt: skip
    assert sorted(report.images.values()) == [3, 6]
    videos = {name: sorted(p.name for p in (tmp_path / "out" / name / "Annotations").iterdir())
              for name in ("train", "val")}  # fmt: skip
    assert sorted(videos.values()) == [["clip"], ["walk"]]


@pytest.mark.parametrize("fmt", ["yolo", "sa1b"])
def test_copy_images_decodes_the_frames_of_a_video_file(tmp_path, fmt):
    root = tmp_path / "images"
    root.mkdir()
    writer = cv2.VideoWriter(str(root / "walk.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(3):
        writer.write(cv2.cvtColor(np.full((H, W, 3), 60 * i, np.uint8), cv2.COLOR_RGB2BGR))
    writer.release()
    doc = Document(root)
    for i in range(3):
        image = doc.add_image(video_frame_name("walk.avi", i), W, H, video="walk.avi",
                              frame_index=i)  # fmt: skip
        doc.add_annotation(image, 1, moving_disk(i), track_id=1)
    out = tmp_path / fmt
    export_project(doc.to_coco(), root, out, fmt, copy_images=True)
    where = out / "images" / "walk" if fmt == "yolo" else out / "walk"
    for i in range(3):
        decoded = cv2.imread(str(where / f"{i:05d}.jpg"))
        assert decoded.shape == (H, W, 3) and abs(float(decoded.mean()) - 60 * i) < 3
