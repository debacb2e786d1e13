"""`annotator amg` (segment everything in a folder of images) and `annotator segment` (masks
for detector boxes)."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from annotator.engine.modeling.architectures import MODEL_TYPES

# The generator's options, with the reference SamAutomaticMaskGenerator's defaults.
GENERATOR_OPTIONS: tuple[tuple[str, type, Any, str], ...] = (
    ("points_per_side", int, 32, "grid points along one side of the image"),
    ("points_per_batch", int, 64, "points sent through the decoder at once"),
    ("pred_iou_thresh", float, 0.88, "drop masks whose predicted IoU is below this"),
    ("stability_score_thresh", float, 0.95, "drop masks less stable than this"),
    ("stability_score_offset", float, 1.0, "logit offset for the stability score"),
    ("box_nms_thresh", float, 0.7, "box IoU above which duplicate masks are removed"),
    ("crop_n_layers", int, 0, "also run on 2^i x 2^i crops for i = 1..N"),
    ("crop_nms_thresh", float, 0.7, "box NMS threshold between crops"),
    ("crop_overlap_ratio", float, 512 / 1500, "overlap of neighbouring crops"),
    ("crop_n_points_downscale_factor", int, 1, "points per side shrink by this per layer"),
    ("min_mask_region_area", int, 0, "fill holes / drop islands smaller than this (px)"),
)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="SAM / MobileSAM checkpoint file or known model name (default: bundled LiteMedSAM)",
    )
    parser.add_argument(
        "--model-type",
        default="auto",
        choices=("auto", *MODEL_TYPES),
        help="architecture (default: detected from the checkpoint)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")


def register(subparsers: argparse._SubParsersAction) -> None:
    amg = subparsers.add_parser(
        "amg",
        help="segment everything in an image or folder (automatic mask generation)",
        description=(
            "Generate masks for everything in each image from a grid of point prompts, like "
            "segment-anything's scripts/amg.py, and write them as PNG folders, SA-1B JSON "
            "files or one COCO project. Re-running skips images already done."
        ),
    )
    amg.add_argument("input", metavar="INPUT", help="an image file or a folder of images")
    amg.add_argument("--output", "-o", required=True, metavar="OUT", help="output folder or file")
    amg.add_argument(
        "--format",
        choices=("png", "coco", "sa1b"),
        default="png",
        help="png: a folder per image with one PNG per mask and metadata.csv (default); "
        "coco: OUT is one COCO RLE project file; sa1b: one SA-1B JSON per image",
    )
    amg.add_argument("--recursive", "-r", action="store_true", help="include sub-folders")
    add_model_options(amg)
    group = amg.add_argument_group("generator options (defaults as segment-anything's)")
    for name, kind, default, text in GENERATOR_OPTIONS:
        flag = "--" + name.replace("_", "-")
        group.add_argument(flag, type=kind, default=default, help=f"{text} (default {default:g})")
    amg.set_defaults(func=cmd_amg)

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
        required=True,
        metavar="DETECTIONS.json",
        help="COCO detection results list, or COCO file with bbox-only annotations",
    )
    segment.add_argument(
        "--output", "-o", required=True, metavar="OUT.json", help="COCO RLE project to write"
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
    segment.set_defaults(func=_cmd_segment)


def _cmd_segment(args: argparse.Namespace) -> int:
    from annotator.cli.segment_boxes import cmd_segment

    return cmd_segment(args)


def load_predictor(args: argparse.Namespace) -> Any:
    """The engine Predictor for --checkpoint/--model-type/--device; errors name the file."""
    from annotator.engine import Predictor, load_model

    return Predictor(load_model(args.checkpoint, model_type=args.model_type, device=args.device))


def find_images(input_path: Path, recursive: bool) -> tuple[Path, list[Path]]:
    """(images root, image files): a folder lists its images; a file is its own list."""
    from annotator.io.images import list_images

    if input_path.is_dir():
        return input_path, list_images(input_path, recursive=recursive)
    if input_path.is_file():
        return input_path.parent, [input_path]
    raise FileNotFoundError(f"no such image or folder: {input_path}")


def prefetch(paths: list[Path]) -> Iterator[tuple[Path, Any, BaseException | None]]:
    """Yield (path, image or None, error) while the next image is read in a background thread,
    so decoding overlaps the model."""
    from annotator.io.images import read_image

    def read(path: Path) -> tuple[Any, BaseException | None]:
        try:
            return read_image(path), None
        except (ValueError, OSError) as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="amg-read") as pool:
        pending: Future | None = pool.submit(read, paths[0]) if paths else None
        for i, path in enumerate(paths):
            assert pending is not None
            image, error = pending.result()
            pending = pool.submit(read, paths[i + 1]) if i + 1 < len(paths) else None
            yield path, image, error


def model_name(predictor: Any) -> str:
    model = predictor.model
    source = getattr(model, "checkpoint_path", None)
    kind = getattr(model, "model_type", "sam")
    return f"{kind}:{Path(source).name}" if source else kind


def cmd_amg(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from annotator.cli.amg_outputs import OutputConflictError, make_items, make_writer
    from annotator.engine.amg import AutomaticMaskGenerator
    from annotator.engine.errors import CheckpointError

    out = Path(args.output)
    try:
        root, paths = find_images(Path(args.input), args.recursive)
    except (FileNotFoundError, NotADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not paths:
        print(f"error: no images in {args.input}", file=sys.stderr)
        return 2
    if args.format == "coco" and out.is_dir():
        print(f"error: --format coco writes one file, but {out} is a folder", file=sys.stderr)
        return 2

    items = make_items(paths, root)
    try:
        predictor = load_predictor(args)
    except (CheckpointError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    options = {name: getattr(args, name) for name, *_ in GENERATOR_OPTIONS}
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            generator = AutomaticMaskGenerator(predictor, **options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if generator.warning:
        print(f"warning: {generator.warning}", file=sys.stderr)

    writer = make_writer(args.format, out, model_name(predictor), root, items)
    try:
        writer.check()
    except OutputConflictError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    todo = [item for item in items if not writer.done(item)]
    skipped = len(items) - len(todo)
    if skipped:
        print(f"{skipped} of {len(items)} images already done, skipping them", file=sys.stderr)
    if args.format != "coco":
        out.mkdir(parents=True, exist_ok=True)

    by_path = {item.path: item for item in todo}
    failures: list[tuple[str, str]] = []
    n_masks = 0
    bar = tqdm(total=len(todo), unit="img", desc="amg", file=sys.stderr, dynamic_ncols=True)
    try:
        for path, image, error in prefetch([item.path for item in todo]):
            item = by_path[path]
            if error is not None:
                failures.append((item.rel, str(error)))
                bar.write(f"skipped {item.rel}: {error}", file=sys.stderr)
            else:
                try:
                    records = generator.generate(image)
                except (ValueError, RuntimeError) as exc:  # e.g. out of device memory
                    failures.append((item.rel, f"mask generation failed: {exc}"))
                    bar.write(f"failed {item.rel}: {exc}", file=sys.stderr)
                else:
                    writer.write(item, image.shape[:2], records)
                    n_masks += len(records)
            bar.update(1)
            bar.set_postfix(masks=n_masks, failed=len(failures))
    except KeyboardInterrupt:
        bar.close()
        try:
            writer.finish()
        except OutputConflictError as exc:
            print(f"error: {exc}", file=sys.stderr)
        print("interrupted: finished images are saved; run again to continue", file=sys.stderr)
        return 130
    bar.close()
    try:
        writer.finish()
    except OutputConflictError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    done = len(todo) - len(failures)
    print(f"{done} images segmented ({n_masks} masks), {skipped} skipped as done, "
          f"{len(failures)} failed -> {out}", file=sys.stderr)  # fmt: skip
    if failures:
        print("failed images:", file=sys.stderr)
        for rel, reason in failures:
            print(f"  {rel}: {reason}", file=sys.stderr)
        return 1
    return 0
