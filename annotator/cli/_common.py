"""What the sub-commands share: the model options (one definition, one help text each), loading
the predictor, listing the input images, reading the next image ahead, and the failure report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from annotator.engine.modeling.architectures import MODEL_TYPES

CHECKPOINT_HELP = (
    "checkpoint file, transformers checkpoint folder, known model name or hf:owner/name "
    "(default: the bundled LiteMedSAM)"
)
MODEL_TYPE_HELP = "architecture of --checkpoint (default: detected from the file)"
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default: auto)"
DTYPE_HELP = (
    "precision: auto (default: a bf16 image encoder where the CPU or GPU has native bf16, "
    "the rest float32), float32, bfloat16, or float16 on a GPU"
)


def add_model_options(
    parser: argparse.ArgumentParser, default_checkpoint: str | None = None
) -> None:
    """--checkpoint, --model-type, --device and --dtype, the same for every sub-command
    (`default_checkpoint`: a known model name used when --checkpoint is not given)."""
    help_text = CHECKPOINT_HELP
    if default_checkpoint is not None:
        help_text = CHECKPOINT_HELP.replace("the bundled LiteMedSAM", default_checkpoint)
    parser.add_argument("--checkpoint", metavar="PATH", default=default_checkpoint, help=help_text)
    parser.add_argument(
        "--model-type", default="auto", choices=("auto", *MODEL_TYPES), help=MODEL_TYPE_HELP
    )
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--dtype", default="auto", help=DTYPE_HELP)


def error(message: str, code: int = 2) -> int:
    """Print ``error: message`` to stderr; returns `code` for the caller to return."""
    print(f"error: {message}", file=sys.stderr)
    return code


def load_predictor(args: argparse.Namespace, checkpoint: str | object | None = ...) -> Any:
    """The engine Predictor for --checkpoint/--model-type/--device/--dtype (``checkpoint``, when
    given, replaces --checkpoint: one of several to compare); errors name the file (or the
    device, or the precision)."""
    from annotator.engine import Predictor, load_model

    model = load_model(
        args.checkpoint if checkpoint is ... else checkpoint,
        model_type=args.model_type,
        device=args.device,
        dtype=args.dtype,
    )
    return Predictor(model)


def load_sequence_predictor(args: argparse.Namespace) -> Any:
    """The engine SequencePredictor for the model options; a checkpoint that is not SAM 2.1
    raises ValueError naming it (only SAM 2.1 has the memory that propagation needs)."""
    from annotator.engine import SequencePredictor, load_model
    from annotator.engine.modeling.sam2 import Sam2

    model = load_model(
        args.checkpoint, model_type=args.model_type, device=args.device, dtype=args.dtype
    )
    if not isinstance(model, Sam2):
        kind = getattr(model, "model_type", type(model).__name__)
        raise ValueError(f"{args.checkpoint or 'the default model'} is a {kind} model; "
                         "tracking needs a SAM 2.1 checkpoint (sam2.1_hiera_*)")  # fmt: skip
    return SequencePredictor(model)


def model_name(predictor: Any) -> str:
    """``<model type>:<checkpoint file name>`` for provenance records, e.g. ``vit_b:sam.pth``."""
    model = predictor.model
    source = getattr(model, "checkpoint_path", None)
    kind = getattr(model, "model_type", "sam")
    return f"{kind}:{Path(source).name}" if source else kind


def find_images(input_path: Path, recursive: bool) -> tuple[Path, list[Path]]:
    """(images root, image files): a folder lists its images; a file is its own list."""
    from annotator.io.images import list_images

    if input_path.is_dir():
        return input_path, list_images(input_path, recursive=recursive)
    if input_path.is_file():
        return input_path.parent, [input_path]
    raise FileNotFoundError(f"no such image or folder: {input_path}")


def report_failures(failures: list[tuple[str, str]], heading: str) -> int:
    """List the (what, reason) failures under `heading` on stderr: exit code 1 if any, else 0."""
    if not failures:
        return 0
    print(heading, file=sys.stderr)
    for what, reason in failures:
        print(f"  {what}: {reason}", file=sys.stderr)
    return 1
