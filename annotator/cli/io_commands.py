"""``annotator import`` and ``annotator export``: bring labels in from other tools, send
datasets out to training pipelines."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_bytes
from annotator.io.coco_store import load_project, save_project
from annotator.io.document import Document
from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError, ImportResult
from annotator.io.formats.export import FORMATS, export_project
from annotator.io.formats.labelme_import import import_labelme
from annotator.io.formats.polygons import DEFAULT_TOLERANCE
from annotator.io.formats.split import SplitSpecError, parse_split
from annotator.io.validation import validate_project

IMPORTERS = {"coco": import_coco, "labelme": import_labelme}


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
    imp = subparsers.add_parser(
        "import",
        help="create a project from COCO or LabelMe annotations",
        description="Create a project file from annotations made with another tool. Masks are "
        "stored as COCO RLE; nothing is written unless the whole import succeeds.",
    )
    imp.add_argument("source", type=Path, help="COCO instances JSON, or a folder of LabelMe JSON")
    imp.add_argument("--format", required=True, choices=sorted(IMPORTERS))
    imp.add_argument("--images-root", required=True, type=Path, help="folder holding the images")
    imp.add_argument("--output", required=True, type=Path, help="project JSON to create")
    imp.add_argument(
        "--labels", type=Path, default=None,
        help="labelme labels.txt fixing category order and ids (labelme only; default: by name)",
    )  # fmt: skip
    imp.add_argument(
        "--force", action="store_true", help="overwrite --output (the old file is kept as .bak)"
    )
    imp.set_defaults(func=run_import)

    exp = subparsers.add_parser(
        "export",
        help="export a project for training (COCO, YOLO, PNG masks, SA-1B)",
        description="Export a project's masks in a training format, optionally split by image.",
    )
    exp.add_argument("project", type=Path, help="project JSON")
    exp.add_argument("--format", required=True, choices=FORMATS)
    exp.add_argument("--output", required=True, type=Path, help="output folder")
    exp.add_argument(
        "--split", type=_split_arg, default=None, metavar="NAME=FRACTION,...",
        help="split by image into sub-folders, e.g. train=0.8,val=0.2",
    )  # fmt: skip
    exp.add_argument("--seed", type=int, default=0, help="seed of the split shuffle (default 0)")
    exp.add_argument("--copy-images", action="store_true", help="copy images next to the labels")
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


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _save_import(result: ImportResult, root: Path, output: Path) -> Document:
    """Validates the imported project, then writes embedded images and the project file."""
    measured: dict[int, tuple[int, list[float]]] = {}  # area and box, reused by from_coco
    problems = validate_project(result.coco, root, measured)
    if problems:
        raise FormatError(
            output, None, "imported data does not validate: " + "; ".join(map(str, problems[:5]))
        )
    doc = Document.from_coco(result.coco, root, measured=measured)
    for rel, data in result.extracted_images.items():
        atomic_write_bytes(root / rel, data)
    output.parent.mkdir(parents=True, exist_ok=True)
    save_project(doc, output)  # atomic; an overwritten project is kept as <name>.bak
    return doc


def run_import(args: argparse.Namespace) -> int:
    output: Path = args.output
    if output.exists() and not args.force:
        return _error(f"{output} already exists; pass --force to overwrite it (kept as .bak)")
    if output.is_dir():
        return _error(f"{output} is a folder; --output must be a project JSON file")
    root: Path = args.images_root
    if not root.is_dir():
        return _error(f"images root {root} is not a folder")
    if args.labels is not None and args.format != "labelme":
        return _error("--labels applies to --format labelme only")
    options = {"labels": args.labels} if args.labels is not None else {}
    try:
        result = IMPORTERS[args.format](args.source, root, **options)
        doc = _save_import(result, root, output)
    except (FormatError, OSError) as exc:
        return _error(str(exc))
    _warn(result.warnings)
    print(
        f"imported {len(doc.images())} images, {len(doc.annotations())} annotations, "
        f"{len(doc.categories())} categories into {output}"
    )
    return 0


def run_export(args: argparse.Namespace) -> int:
    try:
        doc = load_project(args.project, args.images_root)
    except (ValueError, OSError) as exc:  # ProjectLoadError is a ValueError naming the file
        return _error(str(exc))
    out: Path = args.output
    if out.exists() and not out.is_dir():
        return _error(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        return _error(f"{out} is not empty; pass --force to write into it anyway")
    try:
        report = export_project(
            doc.to_coco(), doc.images_root, out, args.format, split=args.split,
            seed=args.seed, copy_images=args.copy_images, tolerance=args.tolerance,
        )  # fmt: skip
    except (FormatError, ValueError, OSError) as exc:
        return _error(str(exc))
    _warn(report.warnings)
    for name, count in report.images.items():
        where = out / name if name else out
        print(f"{where}: {count} images, {report.annotations[name]} annotations ({args.format})")
    for note in report.notes:
        print(f"note: {note}")
    return 0
