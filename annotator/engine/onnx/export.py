"""Export a loaded :class:`Sam` to ONNX: the official decoder interface, the image encoder,
and the predictor's prompt decoder; dynamic int8 quantisation through ONNX Runtime.

Uses torch's TorchScript-based exporter (``dynamo=False``), which needs only ``onnx``.
"""

from __future__ import annotations

import contextlib
import io
import threading
import time
import warnings
from pathlib import Path
from typing import BinaryIO

import torch

from annotator.engine.modeling.sam import Sam

from .wrappers import CACHE_INPUTS, MaskPromptDecoder, PromptDecoder, SamOnnxDecoder

DEFAULT_OPSET = 17
DECODER_INPUTS = (
    "image_embeddings",
    "point_coords",
    "point_labels",
    "mask_input",
    "has_mask_input",
    "orig_im_size",
)
DECODER_OUTPUTS = ("masks", "iou_predictions", "low_res_masks")


# Tracing our own modules for export warns that shape checks become constants, which is
# intended (the graphs take dynamic points through the declared axes). Background exports
# (the Predictor's first click) cannot use catch_warnings, so that one notice, raised from
# annotator's own code only, is ignored for the process.
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"annotator\.")


def _float32_cpu(model: Sam, part: str = "decoder") -> Sam:
    """`model`, checked to hold the exported part in float32 on the CPU ("decoder": prompt
    encoder + mask decoder, which precision "auto" keeps float32; "encoder": the image
    encoder)."""
    modules = (
        [model.image_encoder] if part == "encoder" else [model.prompt_encoder, model.mask_decoder]
    )
    dtypes = {p.dtype for m in modules for p in m.parameters()}
    if model.device.type != "cpu" or dtypes != {torch.float32}:
        raise ValueError(
            f"export a float32 model on the CPU (got {sorted(map(str, dtypes))} on "
            f"{model.device}); "
            "load it with device='cpu', dtype='float32'"
        )
    return model


def _export(module, args, target, input_names, output_names, dynamic_axes, opset) -> None:
    # The exporter's tracer and deprecation notices are silenced on the main thread only:
    # warnings filters are process-wide, and a background export must not touch them.
    main = threading.current_thread() is threading.main_thread()
    with warnings.catch_warnings() if main else contextlib.nullcontext():
        if main:
            warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            args,
            target,
            export_params=True,
            opset_version=opset,
            do_constant_folding=True,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
            dynamo=False,
        )


def decoder_dummy_inputs(model: Sam, num_points: int = 5) -> dict[str, torch.Tensor]:
    """Example inputs of the official decoder interface (also the export's trace inputs)."""
    pe = model.prompt_encoder
    gh, gw = pe.image_embedding_size
    gen = torch.Generator().manual_seed(0)
    return {
        "image_embeddings": torch.randn(1, pe.embed_dim, gh, gw, generator=gen),
        "point_coords": torch.randint(0, model.img_size, (1, num_points, 2), generator=gen).float(),
        "point_labels": torch.randint(0, 4, (1, num_points), generator=gen).float(),
        "mask_input": torch.randn(1, 1, 4 * gh, 4 * gw, generator=gen),
        "has_mask_input": torch.tensor([1.0]),
        "orig_im_size": torch.tensor([1500.0, 2250.0]),
    }


def export_decoder(
    model: Sam,
    output: str | Path | BinaryIO,
    *,
    return_single_mask: bool = False,
    use_stability_score: bool = False,
    opset: int = DEFAULT_OPSET,
) -> None:
    """Write the prompt encoder + mask decoder + postprocessing with the interface of
    segment-anything's ``SamOnnxModel`` (see :mod:`annotator.engine.onnx.wrappers`)."""
    module = SamOnnxDecoder(_float32_cpu(model), return_single_mask, use_stability_score).eval()
    dummy = decoder_dummy_inputs(model)
    dynamic = {"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}}
    _export(
        module,
        tuple(dummy.values()),
        str(output) if isinstance(output, Path) else output,
        DECODER_INPUTS,
        DECODER_OUTPUTS,
        dynamic,
        opset,
    )


def export_encoder(
    model: Sam, output: str | Path | BinaryIO, *, opset: int = DEFAULT_OPSET
) -> None:
    """Write the image encoder: input ``image`` (1, 3, S, S) float32, already resized (longest
    side S = ``model.img_size``), normalised (SAM/MobileSAM: (x - mean) / std on the 0-255
    scale; LiteMedSAM: min-max to [0, 1] over the whole resized image) and zero-padded
    bottom-right; output ``image_embeddings`` (1, 256, 64, 64) float32."""
    encoder = _float32_cpu(model, "encoder").image_encoder.eval()
    dummy = torch.randn(1, 3, model.img_size, model.img_size)
    _export(
        encoder,
        (dummy,),
        str(output) if isinstance(output, Path) else output,
        ("image",),
        ("image_embeddings",),
        None,
        opset,
    )


def prompt_decoder_bytes(model: Sam, with_mask: bool = False, opset: int = DEFAULT_OPSET) -> bytes:
    """The predictor's :class:`PromptDecoder` (or, ``with_mask``, :class:`MaskPromptDecoder`)
    as an in-memory ONNX model, batch and number of points dynamic."""
    pe = model.prompt_encoder
    grid = pe.image_embedding_size
    coords = torch.rand(2, 3, 2) * model.img_size
    labels = torch.tensor([[1.0, 0.0, -1.0], [1.0, 2.0, 3.0]])
    dynamic = {
        "point_coords": {0: "batch", 1: "num_points"},
        "point_labels": {0: "batch", 1: "num_points"},
        "low_res_masks": {0: "batch"},
        "iou_predictions": {0: "batch"},
    }
    if with_mask:
        module: torch.nn.Module = MaskPromptDecoder(_float32_cpu(model)).eval()
        names: tuple[str, ...] = ("mask_input", "image_embeddings")
        extra: tuple[torch.Tensor, ...] = (
            torch.randn(2, 1, 4 * grid[0], 4 * grid[1]),
            torch.randn(1, pe.embed_dim, *grid),
        )
        dynamic["mask_input"] = {0: "batch"}
    else:
        module = PromptDecoder(_float32_cpu(model)).eval()
        names = CACHE_INPUTS
        with torch.inference_mode():
            dense = pe.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, *grid)
            feats = torch.zeros(1, pe.embed_dim, *grid)
            cache = model.mask_decoder.image_cache(feats, pe.get_dense_pe(), dense)
        extra = tuple(cache[k].clone() for k in CACHE_INPUTS)
    buf = io.BytesIO()
    _export(
        module,
        (coords, labels, *extra),
        buf,
        ("point_coords", "point_labels", *names),
        ("low_res_masks", "iou_predictions"),
        dynamic,
        opset,
    )
    return buf.getvalue()


def quantize(source: str | Path, output: str | Path) -> None:
    """Dynamic int8 quantisation (weights uint8, activations quantised at run time), as the
    official export script does it."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        model_input=str(source),
        model_output=str(output),
        per_channel=False,
        reduce_range=False,
        weight_type=QuantType.QUInt8,
    )


def compare_decoders(
    reference: str | Path,
    candidate: str | Path,
    model: Sam,
    image_embeddings: torch.Tensor | None = None,
    clicks: int = 10,
) -> dict[str, float]:
    """Run two exported decoders (e.g. float32 and int8) in ONNX Runtime on the same random
    clicks; returns their median run times (ms), the worst score difference and the worst and
    mean mask IoU (logits > 0) of the candidate against the reference.

    image_embeddings: (1, 256, 64, 64) of a real image (random values otherwise, which say
    little about a real image's agreement)."""
    import numpy as np
    import onnxruntime as ort

    sessions = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        for p in (reference, candidate)
    ]
    feeds = {k: v.numpy() for k, v in decoder_dummy_inputs(model).items()}
    if image_embeddings is not None:
        feeds["image_embeddings"] = image_embeddings.detach().float().cpu().numpy()
    feeds["has_mask_input"] = np.zeros(1, np.float32)
    feeds["orig_im_size"] = np.array([1200.0, 1800.0], np.float32)
    rng = np.random.default_rng(0)
    times: list[list[float]] = [[], []]
    ious, score_diff = [], 0.0
    for _ in range(clicks):
        xy = rng.uniform(0, model.img_size * 0.66, (1, 1, 2)).astype(np.float32)
        feeds["point_coords"] = np.concatenate([xy, np.zeros((1, 1, 2), np.float32)], axis=1)
        feeds["point_labels"] = np.array([[1.0, -1.0]], np.float32)
        outs = []
        for i, s in enumerate(sessions):
            t = time.perf_counter()
            outs.append(s.run(None, feeds))
            times[i].append(time.perf_counter() - t)
        a, b = outs[0][0] > 0, outs[1][0] > 0
        inter = np.logical_and(a, b).sum(axis=(-2, -1))
        union = np.logical_or(a, b).sum(axis=(-2, -1))
        ious.extend(np.where(union == 0, 1.0, inter / np.maximum(union, 1)).ravel().tolist())
        score_diff = max(score_diff, float(np.abs(outs[0][1] - outs[1][1]).max()))
    return {
        "reference_ms": 1000 * float(np.median(times[0])),
        "candidate_ms": 1000 * float(np.median(times[1])),
        "score_diff_max": score_diff,
        "mask_iou_min": float(min(ious)),
        "mask_iou_mean": float(np.mean(ious)),
    }
