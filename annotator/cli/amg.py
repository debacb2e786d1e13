"""`annotator amg`: segment everything in an image or a folder of images (automatic mask
generation), written as PNG folders, SA-1B JSON files or one COCO project (`amg_outputs`).
The work per image is `amg_job.AmgJob`, run here or, with ``--ray``, on Ray actors."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from annotator.cli._common import (
    add_model_options,
    error,
    find_images,
    load_predictor,
    report_failures,
)
from annotator.cli.ray_options import add_ray_options, ray_options
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
    add_ray_options(amg)
    amg.set_defaults(func=cmd_amg)


def cmd_amg(args: argparse.Namespace) -> int:
    from annotator.cli.amg_job import AmgJob
    from annotator.cli.amg_outputs import OutputConflictError, make_items
    from annotator.cli.batch_run import run_resumable
    from annotator.engine.errors import CheckpointError

    out = Path(args.output)
    try:
        root, paths = find_images(Path(args.input), args.recursive)
        ray = ray_options(args)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        return error(str(exc))
    if not paths:
        return error(f"no images in {args.input}")
    if args.format == "coco" and out.is_dir():
        return error(f"--format coco writes one file, but {out} is a folder")

    items = make_items(paths, root)
    job = AmgJob(
        args=args, items=items, root=root, load=load_predictor, options=options_from_args(args)
    )
    if ray is None:  # on Ray, each actor loads its own model
        try:
            job.setup()
        except (CheckpointError, ValueError, OSError) as exc:
            return error(str(exc))
        if job.warning:
            print(f"warning: {job.warning}", file=sys.stderr)
    # On Ray the driver's writer only finds the done images and assembles the COCO project:
    # each part names the model that made it.
    writer = job.writer if ray is None else job.make_writer(model="")
    try:
        writer.check()
    except OutputConflictError as exc:
        return error(str(exc))
    if args.format != "coco":
        out.mkdir(parents=True, exist_ok=True)
    code, run = run_resumable(job, writer, ray, "amg")
    if code is not None:
        return code
    print(f"{run.done} images segmented ({run.count} masks), {run.skipped} skipped as done, "
          f"{len(run.failures)} failed -> {out}", file=sys.stderr)  # fmt: skip
    return report_failures(run.failures, "failed images:")
