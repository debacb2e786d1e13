"""`annotator export-onnx [CHECKPOINT] --output decoder.onnx`: SAM's ONNX decoder (and encoder).

The decoder has the interface of segment-anything's official export (SamOnnxModel), so the
consumers of that file (the SAM browser demo, X-AnyLabeling, labelme/osam, CVAT) load it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from annotator.cli._common import CHECKPOINT_HELP, MODEL_TYPE_HELP, error
from annotator.engine.modeling.architectures import MODEL_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-onnx",
        help="export the prompt encoder + mask decoder (and the image encoder) to ONNX",
        description=(
            "Export a checkpoint's prompt encoder + mask decoder with the interface of the "
            "official segment-anything ONNX export (inputs image_embeddings, point_coords, "
            "point_labels, mask_input, has_mask_input, orig_im_size; outputs masks, "
            "iou_predictions, low_res_masks; any number of points), and optionally the image "
            "encoder. See the README for the encoder's preprocessing."
        ),
    )
    parser.add_argument(
        "checkpoint",
        nargs="?",
        default=None,
        metavar="CHECKPOINT",
        help=CHECKPOINT_HELP,
    )
    parser.add_argument("--output", "-o", type=Path, required=True, help="decoder .onnx to write")
    parser.add_argument("--encoder", type=Path, default=None, help="also write the image encoder")
    parser.add_argument(
        "--return-single-mask",
        action="store_true",
        help="return only the best mask (as upstream: multimask best for <= 2 points)",
    )
    parser.add_argument(
        "--use-stability-score",
        action="store_true",
        help="replace the predicted IoU by the stability score of each mask",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument(
        "--quantize",
        action="store_true",
        help="write dynamically int8-quantised models (onnxruntime) and print their agreement",
    )
    parser.add_argument(
        "--model-type", default="auto", choices=("auto", *MODEL_TYPES), help=MODEL_TYPE_HELP
    )
    parser.set_defaults(func=cmd_export)


def _fail(message: str) -> int:
    return error(message, 1)


def cmd_export(args: argparse.Namespace) -> int:
    from annotator.engine import load_model
    from annotator.engine.errors import CheckpointError

    try:
        import onnx  # noqa: F401

        from annotator.engine.onnx.export import (
            compare_decoders,
            export_decoder,
            export_encoder,
            quantize,
        )
    except ImportError as exc:
        return _fail(f"{exc.name} is not installed: pip install 'annotator[onnx]'")
    if args.quantize:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return _fail("--quantize needs onnxruntime: pip install 'annotator[onnx]'")
    try:
        # float32: the exported graphs are what other runtimes load, not this CPU's bf16 choice
        model = load_model(
            args.checkpoint, model_type=args.model_type, device="cpu", dtype="float32"
        )
    except (CheckpointError, ValueError, OSError) as exc:
        return _fail(str(exc))
    opts = dict(
        return_single_mask=args.return_single_mask,
        use_stability_score=args.use_stability_score,
        opset=args.opset,
    )
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "decoder.onnx" if args.quantize else args.output
        try:
            export_decoder(model, fp32, **opts)
            if args.quantize:
                quantize(fp32, args.output)
            if args.encoder is not None:
                enc32 = Path(tmp) / "encoder.onnx" if args.quantize else args.encoder
                export_encoder(model, enc32, opset=args.opset)
                if args.quantize:
                    quantize(enc32, args.encoder)
        except (OSError, RuntimeError, ValueError) as exc:
            return _fail(f"export failed: {exc}")
        print(f"{model.model_type} decoder -> {args.output}")
        if args.encoder is not None:
            print(f"{model.model_type} image encoder -> {args.encoder}")
        if args.quantize:
            c = compare_decoders(fp32, args.output, model)
            print(
                f"int8 decoder vs float32 on random embeddings: {c['candidate_ms']:.1f} vs "
                f"{c['reference_ms']:.1f} ms per click, mask IoU mean {c['mask_iou_mean']:.3f} "
                f"(min {c['mask_iou_min']:.3f}), scores within {c['score_diff_max']:.3g}"
            )
    return 0
