"""Export a project for training: one entry point over the formats, with optional splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.io.formats.coco_export import export_coco
from annotator.io.formats.common import (
    FormatError,
    categories_by_id,
    check_images_exist,
    output_names,
    subset,
)
from annotator.io.formats.davis_export import export_davis
from annotator.io.formats.frame_images import FrameJpegs
from annotator.io.formats.mot_export import export_mot
from annotator.io.formats.png_export import check_class_count, export_png
from annotator.io.formats.polygons import DEFAULT_TOLERANCE
from annotator.io.formats.sa1b_export import export_sa1b
from annotator.io.formats.split import assign_split_by_video
from annotator.io.formats.yolo_export import export_yolo, missing_images_note, write_data_yaml
from annotator.io.sequence import VIDEO_KEY

FORMATS = ("coco", "coco-polygons", "yolo", "png", "sa1b", "davis", "mot")
PER_IMAGE_FORMATS = ("yolo", "png", "sa1b")  # one output file per image, named by its stem
SEQUENCE_FORMATS = ("davis", "mot")  # videos only; they copy (or decode) the frames themselves


@dataclass
class ExportReport:
    """What was written: images per split ("" when not split), warning lines, and notes for
    the user (what to do next, such as where to put the images)."""

    images: dict[str, int] = field(default_factory=dict)
    annotations: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _export_one(
    fmt: str,
    coco: dict[str, Any],
    images_root: Path,
    out: Path,
    copy_images: bool,
    tolerance: float,
) -> list[str]:
    if fmt == "sa1b":  # puts each image next to its JSON, so it copies them itself
        return export_sa1b(coco, images_root, out, copy_images=copy_images)
    if fmt in SEQUENCE_FORMATS:
        frames = FrameJpegs(images_root) if copy_images else None
        if fmt == "davis":
            return export_davis(coco, out, frame_reader=frames)
        return export_mot(coco, out, frame_reader=frames)
    if fmt in ("coco", "coco-polygons"):
        warnings = export_coco(coco, out, polygons=fmt == "coco-polygons", tolerance=tolerance)
    elif fmt == "yolo":
        warnings = export_yolo(coco, out, tolerance=tolerance)
    elif fmt == "png":
        warnings = export_png(coco, out)
    else:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    if copy_images:  # the images/ folder beside the labels, under their project file_name
        frames = FrameJpegs(images_root)
        for im in coco["images"]:
            frames.copy(im, out / "images" / im["file_name"])
    return warnings


def check_frames_exist(coco: dict[str, Any], images_root: Path) -> None:
    """FormatError naming the first image (or frame) whose pixels cannot be had, before any
    writing."""
    frames = FrameJpegs(images_root)
    for i, im in enumerate(coco["images"]):
        why = frames.missing(im)
        if why is not None and VIDEO_KEY not in im:
            why = f"image file of images[{i}] does not exist"
            raise FormatError(images_root / im["file_name"], None, why)
        if why is not None:
            raise FormatError(images_root / im["file_name"], f"images[{i}]", why)


def export_project(
    coco: dict[str, Any],
    images_root: Path,
    out: Path,
    fmt: str,
    *,
    split: list[tuple[str, float]] | None = None,
    seed: int = 0,
    copy_images: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
) -> ExportReport:
    """Exports a project dict (COCO instances with compressed RLE) to ``out``.

    split: [(name, fraction), ...] from ``split.parse_split``; each part goes to
    ``out/<name>/`` (images assigned by ``split.assign_split`` with ``seed``; the frames of a
    video stay together, ``split.assign_split_by_video``), else all to ``out``. YOLO also gets
    ``out/data.yaml``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0 pixels, got {tolerance}")
    # Checks that can fail are done before anything is written.
    if fmt in PER_IMAGE_FORMATS:
        output_names(coco, ".txt")  # two images that would share a label/mask/JSON file
    # Images present must have their declared size (masks would not line up); with
    # copy_images they must also exist (for frames of a video file: the video).
    check_images_exist(coco, images_root, required=False)
    if copy_images:
        check_frames_exist(coco, images_root)
    if fmt == "png":
        check_class_count(coco)
    report = ExportReport()
    if split:
        parts = assign_split_by_video(coco["images"], split, seed)
        jobs = [(name, subset(coco, ids), out / name) for name, ids in parts.items()]
    else:
        jobs = [("", coco, out)]
    for name, part, target in jobs:
        target.mkdir(parents=True, exist_ok=True)
        for line in _export_one(fmt, part, images_root, target, copy_images, tolerance):
            report.warnings.append(f"{name}: {line}" if name else line)
        report.images[name] = len(part["images"])
        report.annotations[name] = len(part.get("annotations", []))
    if fmt == "yolo":
        names = [c["name"] for c in categories_by_id(coco)]
        splits = [name for name, _ in split] if split else None
        write_data_yaml(out, names, splits, images_copied=copy_images)
        if not copy_images:
            report.notes.append(missing_images_note(out, splits))
    return report
