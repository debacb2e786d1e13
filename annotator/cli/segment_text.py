"""`annotator segment IMAGES --text "car, person"`: SAM 3 pre-labels every instance of each
phrase, as a COCO RLE project with one category per phrase.

Runs like `annotator amg --format coco`: each image's result is written atomically as a part
file in ``<OUT>.parts/`` (its existence marks the image as done, so a re-run resumes), and the
project is assembled from all parts at the end of the run, or when it is interrupted. An image
that cannot be read or segmented is reported and skipped; the exit code is then 1. A part made
with other phrases or another threshold is redone, not reused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annotator.cli._common import error, find_images, prefetch, report_failures

if TYPE_CHECKING:
    from annotator.cli.amg_outputs import ImageItem
    from annotator.cli.segment_text_writer import ConceptCocoWriter


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


def _records(predictor: Any, image: Any, phrases: list[str], threshold: float) -> list[dict]:
    from annotator.io.masks import encode_mask, mask_area

    predictor.set_image(image)
    records = []
    for phrase in phrases:
        for instance in predictor.find(phrase, threshold=threshold):
            rle = encode_mask(instance.mask)
            if mask_area(rle) == 0:
                continue  # the store refuses empty masks
            score = round(instance.score, 6)
            records.append(
                {"segmentation": rle, "phrase": phrase, "score": score, "box": list(instance.box)}
            )
    return records


def load_concept_model(args: argparse.Namespace) -> Any:
    """The ConceptPredictor for --checkpoint (a SAM 3 folder, or the downloaded sam3)."""
    from annotator.engine.concepts import load_concept_predictor
    from annotator.engine.concepts.catalogue import resolve_concept_checkpoint

    return load_concept_predictor(
        resolve_concept_checkpoint(args.checkpoint), device=args.device, dtype=args.dtype
    )


def cmd_segment_text(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from annotator.cli.amg_outputs import OutputConflictError, make_items
    from annotator.cli.segment_text_writer import ConceptCocoWriter
    from annotator.engine.errors import CheckpointError, MissingDependencyError
    from annotator.engine.weights.store import ModelStoreError

    phrases = split_phrases(args.text)
    if not phrases:
        return error('--text needs at least one phrase, e.g. --text "car, person"')
    if not 0.0 <= args.threshold <= 1.0:
        return error(f"--threshold must be in [0, 1], got {args.threshold}")
    out = Path(args.output)
    try:
        root, paths = find_images(Path(args.input), recursive=True)
    except (FileNotFoundError, NotADirectoryError) as exc:
        return error(str(exc))
    if not paths:
        return error(f"no images in {args.input}")
    if out.is_dir():
        return error(f"{out} is a folder; --output must be a project JSON file")
    items = make_items(paths, root)
    try:
        predictor = load_concept_model(args)
    except (CheckpointError, MissingDependencyError, ModelStoreError, ValueError, OSError) as exc:
        return error(str(exc))
    folder = Path(getattr(predictor.model, "name_or_path", "") or "sam3")
    writer = ConceptCocoWriter(out, f"sam3:{folder.name}", root, items, phrases, args.threshold)
    if args.force:
        writer.reset()
    else:
        try:
            writer.check()
        except OutputConflictError as exc:
            return error(f"{exc}, or pass --force (the old file is kept as .bak)")
    return _run(writer, predictor, items, phrases, args.threshold, tqdm)


def _run(writer: ConceptCocoWriter, predictor: Any, items: list[ImageItem],
         phrases: list[str], threshold: float, tqdm: Any) -> int:  # fmt: skip
    from annotator.cli.amg_outputs import OutputConflictError

    todo = [item for item in items if not writer.done(item)]
    skipped = len(items) - len(todo)
    if skipped:
        print(f"{skipped} of {len(items)} images already done, skipping them", file=sys.stderr)
    by_path = {item.path: item for item in todo}
    failures: list[tuple[str, str]] = []
    n_found = 0
    bar = tqdm(total=len(todo), unit="img", desc="segment --text", file=sys.stderr,
               dynamic_ncols=True)  # fmt: skip
    try:
        for path, image, read_error in prefetch([item.path for item in todo]):
            item = by_path[path]
            if read_error is not None:
                failures.append((item.rel, str(read_error)))
                bar.write(f"skipped {item.rel}: {read_error}", file=sys.stderr)
            else:
                try:
                    records = _records(predictor, image, phrases, threshold)
                except (ValueError, RuntimeError) as exc:  # e.g. out of device memory
                    failures.append((item.rel, f"segmentation failed: {exc}"))
                    bar.write(f"failed {item.rel}: {exc}", file=sys.stderr)
                else:
                    writer.write(item, image.shape[:2], records)
                    n_found += len(records)
            bar.update(1)
            bar.set_postfix(found=n_found, failed=len(failures))
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
    print(f"{done} images segmented ({n_found} instances of {len(phrases)} phrases), "
          f"{skipped} skipped as done, {len(failures)} failed -> {writer.out}",
          file=sys.stderr)  # fmt: skip
    return report_failures(failures, "failed images:")
