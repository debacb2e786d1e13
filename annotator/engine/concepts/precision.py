"""SAM 3 in the engine's precisions (see annotator/engine/precision.py for the policy).

Under "auto" with native bf16, the vision backbone (the 32-layer ViT, nearly all of an
image's encode time) runs in bfloat16 and everything else (its FPN neck, the text encoder, the
DETR encoder and decoder, the mask decoder) in float32, so the outputs are float32 and the
per-phrase query stays closest to float32's. An explicit dtype casts the whole model.

Why "auto" keeps the bf16 backbone (benchmarks/concepts.py and a torch.profiler run, AVX512-BF16,
2 cores under load 8-12, fp32 and auto interleaved): the full-width vision encoder at 16 of its
32 ViT layers encoded 3.0-4.0x faster per round than float32 (FPN features 1.0-1.2% relative L2
error), and masks agreed at mean IoU 0.995 on the tiny model. In bf16 the backbone (8 layers,
profiled) spends 29% in its matmuls and 21% in flash SDPA (no math fallback); copies, cat and the
element-wise ops take 38% (17% in float32), largely transformers' RoPE, which upcasts q and k to
float32 and back: that is what is left to gain.
"""

from __future__ import annotations

import torch
from torch import nn

from annotator.engine.precision import Precision


def apply_concept_precision(model: nn.Module, precision: Precision) -> nn.Module:
    """Cast a transformers ``Sam3Model`` to ``precision`` in place and return it.

    For a bf16 encoder under a float32 rest the backbone's input is cast on entry and its
    ``last_hidden_state`` back to float32 on exit, so the neck gets float32 as in a float32
    model.
    """
    model = model.to(dtype=precision.rest)
    if precision.encoder != precision.rest:
        backbone = model.vision_encoder.backbone
        backbone.to(dtype=precision.encoder)
        backbone.register_forward_pre_hook(_cast_pixels(precision.encoder), with_kwargs=True)
        backbone.register_forward_hook(_cast_hidden(precision.rest))
    model.precision = precision
    return model


def _cast_pixels(dtype: torch.dtype):
    def hook(_module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if args:
            return (args[0].to(dtype), *args[1:]), kwargs
        return args, {**kwargs, "pixel_values": kwargs["pixel_values"].to(dtype)}

    return hook


def _cast_hidden(dtype: torch.dtype):
    def hook(_module: nn.Module, _args: tuple, output):
        output.last_hidden_state = output.last_hidden_state.to(dtype)
        return output

    return hook
