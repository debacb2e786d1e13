"""``annotator export``: send a project's masks out to training pipelines (COCO, YOLO, PNG
masks, SA-1B; for videos DAVIS / YouTube-VOS palette PNGs and MOTChallenge boxes), optionally
split by image (the frames of a video stay together)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.cli._common import error
from annotator.io.coco_store import load_project
from annotator.io.formats.common import FormatError
from annotator.io.formats.export import FORMATS, export_project
from annotator.io.formats.polygons import DEFAULT_TOLERANCE
from annotator.io.formats.split import SplitSpecError, parse_split


def _split_arg(value: str) -> list[tuple[str, float]]:
    try:
        return parse_split(value)
    except SplitSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tolerance_arg(value: str) -> float:
    try:
        tolerance = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of pixels") from None
    if not tolerance >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be >= 0 pixels, got {value}")
    return tolerance


def register(subparsers: Any) -> None:
    exp = subparsers.add_parser(
        "export",
        help="export a project for training (COCO, YOLO, PNG masks, SA-1B, DAVIS, MOT)",
        description="Export a project's masks in a training format, optionally split by image "
        "(by video for sequence projects). davis: Annotations/<video>/<frame>.png palette PNGs "
        "indexed by track id; mot: <video>/gt/gt.txt boxes with track ids.",
    )
    exp.add_argument("project", type=Path, help="project JSON")
    exp.add_argument("--format", required=True, choices=FORMATS)
    exp.add_argument("--output", required=True, type=Path, help="output folder")
    exp.add_argument(
        "--split", type=_split_arg, default=None, metavar="NAME=FRACTION,...",
        help="split by image into sub-folders, e.g. train=0.8,val=0.2",
    )  # fmt: skip
    exp.add_argument("--seed", type=int, default=0, help="seed of the split shuffle (default 0)")
    exp.add_argument(
        "--copy-images", action="store_true",
        help="copy images next to the labels (davis, mot: frames as JPEG, decoded from videos)",
    )  # fmt: skip
    exp.add_argument(
        "--tolerance", type=_tolerance_arg, default=DEFAULT_TOLERANCE, metavar="PX",
        help=f"polygon simplification in pixels (coco-polygons, yolo; default {DEFAULT_TOLERANCE})",
    )  # fmt: skip
    exp.add_argument(
        "--images-root", type=Path, default=None,
        help="where the images are (default: the folder recorded in the project, used only "
        "if it lies inside the project file's folder)",
    )  # fmt: skip
    exp.add_argument(
        "--force", action="store_true", help="write into an output folder that is not empty"
    )
    exp.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    try:
        doc = load_project(args.project, args.images_root)
    except (ValueError, OSError) as exc:  # ProjectLoadError is a ValueError naming the file
        return error(str(exc), 1)
    out: Path = args.output
    if out.exists() and not out.is_dir():
        return error(f"{out} exists and is not a folder", 1)
    if out.is_dir() and any(out.iterdir()) and not args.force:
        return error(f"{out} is not empty; pass --force to write into it anyway", 1)
    try:
        report = export_project(
            doc.to_coco(), doc.images_root, out, args.format, split=args.split,
            seed=args.seed, copy_images=args.copy_images, tolerance=args.tolerance,
        )  # fmt: skip
    except (FormatError, ValueError, OSError) as exc:
        return error(str(exc), 1)
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for name, count in report.images.items():
        where = out / name if name else out
        print(f"{where}: {count} images, {report.annotations[name]} annotations ({args.format})")
    for note in report.notes:
        print(f"note: {note}")
    return 0
