"""`annotator amg`: segment everything in an image or a folder of images (automatic mask
generation), written as PNG folders, SA-1B JSON files or one COCO project (`amg_outputs`)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

from annotator.cli._common import (
    add_model_options,
    error,
    find_images,
    load_predictor,
    model_name,
    prefetch,
    report_failures,
)
from annotator.engine.amg.options import AmgOptions, default_text


def cli_fields() -> list[dataclasses.Field]:
    """The `AmgOptions` fields offered as flags (``--points-per-side`` ...)."""
    return [f for f in dataclasses.fields(AmgOptions) if f.metadata.get("cli", True)]


def add_generator_options(parser: argparse.ArgumentParser) -> None:
    """One flag per `AmgOptions` field: its name, type, default and help come from the field
    (a per-family default stays None here and is the loaded model's family's)."""
    group = parser.add_argument_group(
        "generator options (defaults as the model family's reference generator: "
        "segment-anything's for SAM, sam2's for SAM 2.1)"
    )
    for f in cli_fields():
        flag = "--" + f.name.replace("_", "-")
        text = f"{f.metadata['help']} (default {default_text(f.name)})"
        if f.metadata["type"] is bool:
            action = argparse.BooleanOptionalAction
            group.add_argument(flag, action=action, default=f.default, help=text)
        else:
            group.add_argument(flag, type=f.metadata["type"], default=f.default, help=text)


def options_from_args(args: argparse.Namespace) -> AmgOptions:
    """The generator options given on the command line (the rest keep their defaults)."""
    return AmgOptions(**{f.name: getattr(args, f.name) for f in cli_fields()})


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
    add_generator_options(amg)
    amg.set_defaults(func=cmd_amg)


def cmd_amg(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from annotator.cli.amg_outputs import OutputConflictError, make_items, make_writer
    from annotator.engine.amg import AutomaticMaskGenerator
    from annotator.engine.errors import CheckpointError

    out = Path(args.output)
    try:
        root, paths = find_images(Path(args.input), args.recursive)
    except (FileNotFoundError, NotADirectoryError) as exc:
        return error(str(exc))
    if not paths:
        return error(f"no images in {args.input}")
    if args.format == "coco" and out.is_dir():
        return error(f"--format coco writes one file, but {out} is a folder")

    items = make_items(paths, root)
    try:
        predictor = load_predictor(args)
    except (CheckpointError, ValueError, OSError) as exc:
        return error(str(exc))
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            generator = AutomaticMaskGenerator.from_options(predictor, options_from_args(args))
    except ValueError as exc:
        return error(str(exc))
    if generator.warning:
        print(f"warning: {generator.warning}", file=sys.stderr)

    writer = make_writer(args.format, out, model_name(predictor), root, items)
    try:
        writer.check()
    except OutputConflictError as exc:
        return error(str(exc))
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
        for path, image, read_error in prefetch([item.path for item in todo]):
            item = by_path[path]
            if read_error is not None:
                failures.append((item.rel, str(read_error)))
                bar.write(f"skipped {item.rel}: {read_error}", file=sys.stderr)
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
            error(str(exc))
        print("interrupted: finished images are saved; run again to continue", file=sys.stderr)
        return 130
    bar.close()
    try:
        writer.finish()
    except OutputConflictError as exc:
        return error(str(exc))

    done = len(todo) - len(failures)
    print(f"{done} images segmented ({n_masks} masks), {skipped} skipped as done, "
          f"{len(failures)} failed -> {out}", file=sys.stderr)  # fmt: skip
    return report_failures(failures, "failed images:")
