"""`annotator segment`: detector boxes -> masks, saved as a COCO RLE project.

Detections come as a COCO file whose annotations have only a bbox (the images and categories
come with it), or as a COCO detection results list ``[{image_id, category_id, bbox, score}]``.
A results list's image ids are resolved, in order, through ``--images-json`` (a COCO file with
``images`` and optionally ``categories``), else as file names (a string image_id: a path
relative to INPUT, a file name, or a stem), else as numeric file stems (397133 matches
``000000397133.jpg``, the COCO convention).

The masks come from the engine (`annotator.engine.box_batch.predict_boxes`, all boxes of an
image in decoder batches). An existing ``--output`` is only replaced with ``--force`` (kept as
``.bak``), and its folder is checked to be writable before the model is loaded. The work per
image is `segment_job.SegmentJob`, run here or, with ``--ray``, on Ray actors (`batch_run`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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


def check_output(out: Path, force: bool) -> str | None:
    """Why the project cannot be written to `out`, or None; run before any inference.

    An existing file is only replaced with `force` (it is then kept as ``<name>.bak``). The
    folder is created if missing and must accept a new file.
    """
    if out.is_dir():
        return f"{out} is a folder; --output must be a project JSON file"
    if out.exists() and not force:
        return f"{out} already exists; pass --force to overwrite it (kept as .bak)"
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write {out}: folder {folder} is not writable ({exc.strerror or exc})"
    return None


def cmd_segment(args: argparse.Namespace) -> int:
    if (args.boxes is None) == (args.text is None):
        return error('give exactly one of --boxes DETECTIONS.json or --text "PHRASE, ..."')
    if args.text is not None:
        if args.ray is not None:
            # The text pipeline keeps its own per-image loop for now (not yet a distributed job).
            return error("--ray is not supported with --text yet: run segment --text locally")
        return cmd_segment_text(args)
    from annotator.cli.batch_run import run_items
    from annotator.cli.segment_job import SegmentJob
    from annotator.distributed.ray_runner import RayRunError
    from annotator.engine.errors import CheckpointError
    from annotator.io.coco_store import save_project
    from annotator.io.document import Document

    try:
        ray = ray_options(args)
        root, paths = find_images(Path(args.input), recursive=True)
        files = [p.relative_to(root).as_posix() for p in paths]
        images_json = Path(args.images_json) if args.images_json else None
        by_file, categories, unmatched = load_detections(Path(args.boxes), images_json, files)
    except (DetectionsError, FileNotFoundError, NotADirectoryError, ValueError) as exc:
        return error(str(exc))
    out = Path(args.output)
    problem = check_output(out, args.force)
    if problem is not None:
        return error(problem)
    failures = [(f"image_id {i}", "no matching image file under INPUT") for i in unmatched]
    known = set(files)
    for rel in [r for r in by_file if r not in known]:
        failures.append((rel, f"image file not found under {root}"))
        del by_file[rel]

    todo = [rel for rel in files if rel in by_file]
    dets = [
        [d for d in by_file[rel] if d.score is None or d.score >= args.min_score] for rel in todo
    ]
    boxes = [[[x, y, x + w, y + h] for x, y, w, h in (d.box_xywh for d in ds)] for ds in dets]
    job = SegmentJob(args, root, todo, boxes, load=load_predictor)
    if ray is None:  # on Ray, each actor loads its own model
        try:
            job.setup()
        except (CheckpointError, ValueError, OSError) as exc:
            return error(str(exc))

    # Each image's masks come back as RLEs, kept until the project is built: full-size arrays
    # for every box of every image would grow without bound.
    results: dict[int, dict[str, Any]] = {}
    source = job.model
    try:
        for outcome in run_items(job, range(len(todo)), ray, "segment"):
            if outcome.error is not None:
                failures.append((todo[outcome.index], outcome.error))
            else:
                results[outcome.index] = outcome.payload
                source = source or outcome.model
    except RayRunError as exc:
        return error(f"{exc}; nothing was written", code=1)

    done = sorted(results)  # the images' order, however the workers finished
    skeleton = {
        "images": [
            {"id": n, "file_name": todo[i], "height": results[i]["size"][0],
             "width": results[i]["size"][1]}
            for n, i in enumerate(done, start=1)
        ],
        "categories": [
            {"id": cid, "name": name, "supercategory": ""}
            for cid, name in sorted(categories.items())
        ],
        "annotations": [],
    }  # fmt: skip
    doc = Document.from_coco(skeleton, root)
    with doc.batch("masks from boxes"):
        for image_id, i in enumerate(done, start=1):
            for box_index, rle, iou in results[i]["masks"]:
                det = dets[i][box_index]
                x, y, w, h = det.box_xywh
                doc.add_annotation(
                    image_id,
                    det.category_id,
                    rle,
                    box=[x, y, x + w, y + h],
                    score=det.score,
                    predicted_iou=iou,
                    model=source,
                )
    save_project(doc, out, force=True)  # an overwritten project (--force) is kept as .bak
    n_masks = len(doc.annotations())
    n_boxes = sum(results[i]["boxes"] for i in done)
    n_empty = n_boxes - sum(len(results[i]["masks"]) for i in done)
    empty = f" ({n_empty} boxes gave an empty mask)" if n_empty else ""
    print(f"{n_masks} masks from {n_boxes} boxes in {len(done)} images -> {out}{empty}",
          file=sys.stderr)  # fmt: skip
    return report_failures(failures, "not segmented:")
