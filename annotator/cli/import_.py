"""``annotator import``: create a project from labels made with another tool (COCO, LabelMe)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_bytes
from annotator.cli._common import error
from annotator.io.coco_store import save_project
from annotator.io.document import Document
from annotator.io.formats.coco_import import import_coco
from annotator.io.formats.common import FormatError, ImportResult
from annotator.io.formats.labelme_import import import_labelme
from annotator.io.validation import validate_project

IMPORTERS = {"coco": import_coco, "labelme": import_labelme}


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
        return error(f"{output} already exists; pass --force to overwrite it (kept as .bak)", 1)
    if output.is_dir():
        return error(f"{output} is a folder; --output must be a project JSON file", 1)
    root: Path = args.images_root
    if not root.is_dir():
        return error(f"images root {root} is not a folder", 1)
    if args.labels is not None and args.format != "labelme":
        return error("--labels applies to --format labelme only", 1)
    options = {"labels": args.labels} if args.labels is not None else {}
    try:
        result = IMPORTERS[args.format](args.source, root, **options)
        doc = _save_import(result, root, output)
    except (FormatError, OSError) as exc:
        return error(str(exc), 1)
    for line in result.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(
        f"imported {len(doc.images())} images, {len(doc.annotations())} annotations, "
        f"{len(doc.categories())} categories into {output}"
    )
    return 0
