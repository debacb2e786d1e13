"""SAM 3 in the engine's precisions (see annotator/engine/precision.py for the policy).

Under "auto" with native bf16, the vision backbone (the 32-layer ViT, nearly all of an
image's encode time) runs in bfloat16 and everything else (its FPN neck, the text encoder, the
DETR encoder and decoder, the mask decoder) in float32, so the outputs are float32 and the
per-phrase query stays closest to float32's. An explicit dtype casts the whole model.
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
