"""`annotator segment`: detector boxes -> masks, saved as a COCO RLE project.

Detections come as a COCO file whose annotations have only a bbox (the images and categories
come with it), or as a COCO detection results list ``[{image_id, category_id, bbox, score}]``.
A results list's image ids are resolved, in order, through ``--images-json`` (a COCO file with
``images`` and optionally ``categories``), else as file names (a string image_id: a path
relative to INPUT, a file name, or a stem), else as numeric file stems (397133 matches
``000000397133.jpg``, the COCO convention).

The masks come from the engine (`annotator.engine.box_batch.predict_boxes`, all boxes of an
image in decoder batches). Each image's masks are written atomically as a part file in
``<OUT>.parts/`` (as `annotator amg --format coco` does) and the project is assembled from the
parts at the end, on Ctrl+C, or when a Ray run fails: running the same command again (same
detections, same model options) skips the finished images, whether the first run was local
or on Ray. An ``--output`` this command did not write is only replaced with ``--force`` (kept
as ``.bak``), and its folder is checked to be writable before the model is loaded. The work per
image is `segment_job.SegmentJob`, run here or, with ``--ray``, on Ray actors (`batch_run`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from annotator.cli._common import (
    add_model_options,
    error,
    find_images,
    load_predictor,
    report_failures,
)
from annotator.cli.output_checks import claim_output
from annotator.cli.ray_options import add_ray_options, ray_options
from annotator.cli.segment_text import add_text_options, cmd_segment_text


class DetectionsError(ValueError):
    """The detections (or images) file cannot be used; the message names the file and place."""


@dataclass(frozen=True)
class Detection:
    box_xywh: tuple[float, float, float, float]
    category_id: int
    score: float | None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DetectionsError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DetectionsError(f"{path}: not valid JSON ({exc})") from None


def _detection(path: Path, place: str, raw: Any) -> Detection:
    if not isinstance(raw, dict):
        raise DetectionsError(f"{path}: {place} is not an object")
    bbox = raw.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4):
        raise DetectionsError(f"{path}: {place} has no bbox [x, y, w, h]")
    try:
        box = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise DetectionsError(f"{path}: {place} bbox {bbox} is not four numbers") from None
    if not all(np.isfinite(box)) or box[2] < 0 or box[3] < 0:
        raise DetectionsError(f"{path}: {place} bbox {bbox} is not a finite box")
    if "category_id" not in raw:
        raise DetectionsError(f"{path}: {place} has no category_id")
    score = raw.get("score")
    return Detection(box, int(raw["category_id"]), None if score is None else float(score))  # type: ignore[arg-type]


def _match_by_name(image_id: Any, files: list[str]) -> str | None:
    """A file (posix path relative to the images root) for a detection's image_id, or None."""
    if isinstance(image_id, str):
        for rel in files:
            name = rel.rsplit("/", 1)[-1]
            if image_id in (rel, name, name.rsplit(".", 1)[0]):
                return rel
        return None
    if isinstance(image_id, int):
        for rel in files:
            stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            if stem.isdigit() and int(stem) == image_id:
                return rel
    return None


def load_detections(
    boxes_path: Path, images_json: Path | None, files: list[str]
) -> tuple[dict[str, list[Detection]], dict[int, str], list[str]]:
    """({file: detections}, {category id: name}, unmatched image ids as text).

    `files`: the image files under the images root (posix, relative).
    """
    data = _read_json(boxes_path)
    categories: dict[int, str] = {}
    id_to_file: dict[Any, str] = {}
    if isinstance(data, dict):
        if not isinstance(data.get("annotations"), list):
            raise DetectionsError(f"{boxes_path}: a COCO file needs an 'annotations' list")
        raw_dets = data["annotations"]
        meta = data
    elif isinstance(data, list):
        raw_dets = data
        meta = _read_json(images_json) if images_json is not None else {}
        if not isinstance(meta, dict):
            raise DetectionsError(f"{images_json}: expected a COCO object with 'images'")
    else:
        raise DetectionsError(f"{boxes_path}: expected a COCO object or a list of detections")

    source = images_json if isinstance(data, list) else boxes_path
    for i, img in enumerate(meta.get("images") or []):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise DetectionsError(f"{source}: images[{i}] needs id and file_name")
        id_to_file[img["id"]] = Path(str(img["file_name"])).as_posix()
    for i, cat in enumerate(meta.get("categories") or []):
        if not isinstance(cat, dict) or "id" not in cat:
            raise DetectionsError(f"{source}: categories[{i}] needs an id")
        categories[int(cat["id"])] = str(cat.get("name") or f"class {cat['id']}")

    by_file: dict[str, list[Detection]] = {}
    unmatched: dict[str, None] = {}
    for i, raw in enumerate(raw_dets):
        place = f"annotations[{i}]" if isinstance(data, dict) else f"detection [{i}]"
        det = _detection(boxes_path, place, raw)
        image_id = raw.get("image_id")
        rel = id_to_file.get(image_id) if id_to_file else _match_by_name(image_id, files)
        if rel is None:
            unmatched[repr(image_id)] = None
            continue
        by_file.setdefault(rel, []).append(det)
        categories.setdefault(det.category_id, f"class {det.category_id}")
    return by_file, categories, list(unmatched)


def register(subparsers: argparse._SubParsersAction) -> None:
    segment = subparsers.add_parser(
        "segment",
        help="masks for detector boxes (COCO detections) -> COCO RLE project",
        description=(
            "Turn boxes into masks: every box of an image goes through the mask decoder in one "
            "batch. The bundled LiteMedSAM box model works well here. Boxes come from a COCO "
            "file with bbox-only annotations, or a COCO detection results list "
            "[{image_id, category_id, bbox, score}]; a results list's image ids are matched "
            "through --images-json (a COCO file with images), else to file names "
            "(a string image_id) or numeric file stems (397133 -> 000000397133.jpg)."
        ),
    )
    segment.add_argument("input", metavar="INPUT", help="the images folder (or one image)")
    segment.add_argument(
        "--boxes",
        metavar="DETECTIONS.json",
        help="COCO detection results list, or COCO file with bbox-only annotations",
    )
    add_text_options(segment)
    segment.add_argument(
        "--output", "-o", required=True, metavar="OUT.json", help="COCO RLE project to write"
    )
    segment.add_argument(
        "--force", action="store_true", help="overwrite --output (the old file is kept as .bak)"
    )
    segment.add_argument(
        "--images-json",
        metavar="COCO.json",
        help="COCO file whose images (and categories) give the detections' image ids",
    )
    segment.add_argument(
        "--min-score", type=float, default=0.0, help="skip detections scored below this"
    )
    add_model_options(segment)
    add_ray_options(segment)
    segment.set_defaults(func=cmd_segment)


def cmd_segment(args: argparse.Namespace) -> int:
    if (args.boxes is None) == (args.text is None):
        return error('give exactly one of --boxes DETECTIONS.json or --text "PHRASE, ..."')
    if args.text is not None:
        return cmd_segment_text(args)
    from annotator.cli.amg_outputs import make_items
    from annotator.cli.batch_run import run_resumable
    from annotator.cli.segment_job import Box, SegmentJob
    from annotator.cli.segment_writer import BoxCocoWriter
    from annotator.engine.errors import CheckpointError

    try:
        ray = ray_options(args)
        root, paths = find_images(Path(args.input), recursive=True)
        files = [p.relative_to(root).as_posix() for p in paths]
        images_json = Path(args.images_json) if args.images_json else None
        by_file, categories, unmatched = load_detections(Path(args.boxes), images_json, files)
    except (DetectionsError, FileNotFoundError, NotADirectoryError, ValueError) as exc:
        return error(str(exc))
    failures = [(f"image_id {i}", "no matching image file under INPUT") for i in unmatched]
    known = set(files)
    for rel in [r for r in by_file if r not in known]:
        failures.append((rel, f"image file not found under {root}"))
        del by_file[rel]

    items = make_items([p for p in paths if p.relative_to(root).as_posix() in by_file], root)
    boxes = [
        [Box((x, y, x + w, y + h), d.category_id, d.score) for d in by_file[item.rel]
         for x, y, w, h in [d.box_xywh] if d.score is None or d.score >= args.min_score]
        for item in items
    ]  # fmt: skip
    writer = BoxCocoWriter(Path(args.output), "", root, items, categories,
                           _query(args, items, boxes))  # fmt: skip
    problem = claim_output(writer, args.force)
    if problem is not None:
        return error(problem)
    job = SegmentJob(args=args, items=items, boxes=boxes, writer=writer, load=load_predictor)
    if ray is None and any(not writer.done(item) for item in items):
        try:  # on Ray, each actor loads its own model
            job.setup()
        except (CheckpointError, ValueError, OSError) as exc:
            return error(str(exc))
    code, run = run_resumable(job, writer, ray, "segment")
    if code is not None:
        return code
    n_boxes = sum(o.payload or 0 for o in run.outcomes)
    empty = n_boxes - run.count
    print(f"{run.count} masks from {n_boxes} boxes in {run.done} images"
          + (f", {run.skipped} skipped as done" if run.skipped else "")
          + f" -> {writer.out}" + (f" ({empty} boxes gave an empty mask)" if empty else ""),
          file=sys.stderr)  # fmt: skip
    return report_failures(failures + run.failures, "not segmented:")


def _query(args: argparse.Namespace, items: list, boxes: list[list]) -> dict[str, Any]:
    """What a part depends on besides its image: the model options, and every image's boxes
    (a digest: the detections of 10,000 images would bloat every part)."""
    text = json.dumps([[item.rel, [[*b.xyxy, b.category_id, b.score] for b in bs]]
                       for item, bs in zip(items, boxes, strict=True)])  # fmt: skip
    return {
        "detections_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "model": {"checkpoint": args.checkpoint, "model_type": args.model_type,
                  "dtype": args.dtype},
    }  # fmt: skip
