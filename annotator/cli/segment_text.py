"""`annotator segment IMAGES --text "car, person"`: SAM 3 pre-labels every instance of each
phrase, as a COCO RLE project with one category per phrase.

Runs like `annotator amg --format coco`: each image's result is written atomically as a part
file in ``<OUT>.parts/`` (its existence marks the image as done, so a re-run resumes), and the
project is assembled from all parts at the end of the run, or when it is interrupted. An image
that cannot be read or segmented is reported and skipped; the exit code is then 1. A part made
with other phrases, another threshold or another model is redone, not reused. The work per
image is `segment_text_job.TextJob`, run here or, with ``--ray``, on Ray actors (`batch_run`),
so a run killed either way resumes either way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.cli._common import error, find_images, report_failures


def add_text_options(parser: argparse.ArgumentParser) -> None:
    """--text and --threshold on `annotator segment`."""
    parser.add_argument(
        "--text",
        metavar='"PHRASE, ..."',
        help="comma-separated noun phrases; SAM 3 finds every instance of each, one category "
        "per phrase (then --checkpoint is a SAM 3 folder, default the downloaded sam3)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="with --text: keep instances scored above this, in [0, 1] (default 0.5)",
    )


def split_phrases(text: str) -> list[str]:
    """ "car, person ,Car" -> ["car", "person"]: stripped, blanks and case-insensitive repeats
    dropped, order kept."""
    phrases: dict[str, str] = {}
    for part in text.split(","):
        phrase = " ".join(part.split())
        if phrase:
            phrases.setdefault(phrase.lower(), phrase)
    return list(phrases.values())


def load_concept_model(args: argparse.Namespace) -> Any:
    """The ConceptPredictor for --checkpoint (a SAM 3 folder, or the downloaded sam3)."""
    from annotator.engine.concepts import load_concept_predictor
    from annotator.engine.concepts.catalogue import resolve_concept_checkpoint

    return load_concept_predictor(
        resolve_concept_checkpoint(args.checkpoint), device=args.device, dtype=args.dtype
    )


def concept_model_name(args: argparse.Namespace) -> str:
    """``sam3:<checkpoint folder name>``, the provenance of the masks, without loading the
    model (the driver of a Ray run never does); raises ModelNotInstalledError."""
    from annotator.engine.concepts.catalogue import resolve_concept_checkpoint

    return f"sam3:{resolve_concept_checkpoint(args.checkpoint).name}"


def cmd_segment_text(args: argparse.Namespace) -> int:
    from annotator.cli.amg_outputs import make_items
    from annotator.cli.batch_run import run_resumable
    from annotator.cli.output_checks import claim_output
    from annotator.cli.ray_options import ray_options
    from annotator.cli.segment_text_job import TextJob
    from annotator.cli.segment_text_writer import ConceptCocoWriter
    from annotator.engine.errors import CheckpointError, MissingDependencyError
    from annotator.engine.weights.store import ModelStoreError

    phrases = split_phrases(args.text)
    if not phrases:
        return error('--text needs at least one phrase, e.g. --text "car, person"')
    if not 0.0 <= args.threshold <= 1.0:
        return error(f"--threshold must be in [0, 1], got {args.threshold}")
    try:
        ray = ray_options(args)
        root, paths = find_images(Path(args.input), recursive=True)
        model = concept_model_name(args)
    except (FileNotFoundError, NotADirectoryError, ModelStoreError, ValueError) as exc:
        return error(str(exc))
    if not paths:
        return error(f"no images in {args.input}")
    items = make_items(paths, root)
    writer = ConceptCocoWriter(Path(args.output), model, root, items, phrases, args.threshold)
    problem = claim_output(writer, args.force)
    if problem is not None:
        return error(problem)
    job = TextJob(args=args, items=items, writer=writer, load=load_concept_model)
    if ray is None and any(not writer.done(item) for item in items):
        try:  # on Ray, each actor loads its own model
            job.setup()
        except (CheckpointError, MissingDependencyError, ModelStoreError, ValueError,
                OSError) as exc:  # fmt: skip
            return error(str(exc))
    code, run = run_resumable(job, writer, ray, "segment --text")
    if code is not None:
        return code
    print(f"{run.done} images segmented ({run.count} instances of {len(phrases)} phrases), "
          f"{run.skipped} skipped as done, {len(run.failures)} failed -> {writer.out}",
          file=sys.stderr)  # fmt: skip
    return report_failures(run.failures, "failed images:")
