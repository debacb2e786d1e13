"""Hugging Face ``transformers`` checkpoints: folders, safetensors, HF key names -> the engine's.

A transformers checkpoint is a folder with ``config.json`` and ``model.safetensors`` (or
``pytorch_model.bin``, or shards listed in ``*.index.json``), or a bare ``.safetensors`` file.
Its tensors carry transformers' names (``vision_encoder.layers.3.layer_norm1.weight``); the
tables here rename them to the engine's (Meta's) names, and the architecture comes from
``config.json`` (or from the tensor shapes when there is no config). transformers itself is not
needed: reading is ``safetensors`` or ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from annotator.engine.errors import CheckpointFormatError, UnknownArchitectureError
from annotator.engine.modeling.sam import VIT_CONFIGS, ModelSpec
from annotator.engine.weights.hf_keys import check_fixed, hf_mlps_to_engine, rename
from annotator.engine.weights.hf_layout import WEIGHT_FILES, find_weights
from annotator.engine.weights.state_dict import read_state_dict

HF_SAM_KEY = "vision_encoder.patch_embed.projection.weight"
HF_SAM2_KEY = "vision_encoder.backbone.patch_embed.projection.weight"


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], ModelSpec | Any | None]:
    """The engine-named state dict of any supported checkpoint, and the spec its config.json
    states (None when there is no config: the caller detects it from the shapes).

    path: a ``.pth``/``.pt`` file, a ``.safetensors`` file, or a transformers folder. HF key
    names are renamed whatever the container. Raises CheckpointError subclasses naming path.
    """
    config: dict[str, Any] | None = None
    if path.is_dir():
        weights = find_weights(path)
        if weights is None or not (path / "config.json").is_file():
            raise CheckpointFormatError(
                path,
                "is a folder but not a transformers checkpoint (expected config.json and "
                f"{' or '.join(WEIGHT_FILES)})",
            )
        config = _read_config(path / "config.json")
        sd = _read_weights(weights)
    else:
        sd = _read_weights(path)
    if HF_SAM2_KEY in sd:
        return _read_sam2(sd, config, path)
    if HF_SAM_KEY in sd:
        spec = sam_spec_from_config(config, path) if config is not None else None
        return hf_sam_to_engine(sd), spec
    if config is not None:
        kind = config.get("model_type", "?")
        raise UnknownArchitectureError(
            path, f"is a transformers {kind!r} checkpoint; the engine loads 'sam' and 'sam2'"
        )
    return sd, None


def _read_sam2(
    sd: dict[str, torch.Tensor], config: dict[str, Any] | None, path: Path
) -> tuple[dict[str, torch.Tensor], Any]:
    from annotator.engine.weights.hf_sam2 import (
        complete_image_only,
        hf_sam2_to_engine,
        sam2_spec_from_config,
    )
    from annotator.engine.weights.state_dict import detect_sam2_spec

    mapped = hf_sam2_to_engine(sd)
    video = any(k.startswith("memory_attention.") for k in mapped)
    if config is not None:
        spec = sam2_spec_from_config(config, path)
    else:
        spec = detect_sam2_spec(mapped, path, check_v21=video)
    if video:
        detect_sam2_spec(mapped, path)  # refuses SAM 2.0 (no 2.1 object-pointer weights)
    return complete_image_only(mapped, spec, path), spec


def _read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointFormatError(path, f"unreadable config ({exc})") from None
    if not isinstance(config, dict):
        raise CheckpointFormatError(path, "holds no JSON object")
    return config


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if path.name.endswith(".index.json"):
        index = _read_config(path).get("weight_map")
        if not isinstance(index, dict) or not index:
            raise CheckpointFormatError(path, "shard index without a weight_map")
        sd: dict[str, torch.Tensor] = {}
        for shard in sorted(set(index.values())):
            sd.update(_read_weights(path.parent / str(shard)))
        return sd
    if is_safetensors(path):
        return read_safetensors(path)
    return read_state_dict(path)


def is_safetensors(path: Path) -> bool:
    """A safetensors file: an 8-byte little-endian header length, then a JSON header."""
    try:
        with path.open("rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") > 1


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file on the CPU (no code runs: the format holds data only)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise CheckpointFormatError(path, "no such file")
    try:
        sd = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointFormatError(path, f"is not a valid safetensors file ({first})") from None
    if not sd:
        raise CheckpointFormatError(path, "holds no tensors")
    return sd


# --- SAM (transformers SamModel) -------------------------------------------------------------

_SAM_RULES: tuple[tuple[str, str], ...] = (
    (r"^shared_image_embedding\.positional_embedding$", "prompt_encoder.pe_layer.PE"),
    (r"^prompt_encoder\.shared_embedding\.positional_embedding$", "prompt_encoder.pe_layer.PE"),
    (r"^vision_encoder\.patch_embed\.projection\.", "image_encoder.patch_embed.proj."),
    (r"^vision_encoder\.layers\.(\d+)\.layer_norm(\d)\.", r"image_encoder.blocks.\1.norm\2."),
    (r"^vision_encoder\.layers\.", "image_encoder.blocks."),
    (r"^vision_encoder\.neck\.conv1\.", "image_encoder.neck.0."),
    (r"^vision_encoder\.neck\.layer_norm1\.", "image_encoder.neck.1."),
    (r"^vision_encoder\.neck\.conv2\.", "image_encoder.neck.2."),
    (r"^vision_encoder\.neck\.layer_norm2\.", "image_encoder.neck.3."),
    (r"^vision_encoder\.", "image_encoder."),
    (r"^prompt_encoder\.mask_embed\.conv1\.", "prompt_encoder.mask_downscaling.0."),
    (r"^prompt_encoder\.mask_embed\.layer_norm1\.", "prompt_encoder.mask_downscaling.1."),
    (r"^prompt_encoder\.mask_embed\.conv2\.", "prompt_encoder.mask_downscaling.3."),
    (r"^prompt_encoder\.mask_embed\.layer_norm2\.", "prompt_encoder.mask_downscaling.4."),
    (r"^prompt_encoder\.mask_embed\.conv3\.", "prompt_encoder.mask_downscaling.6."),
    (r"^prompt_encoder\.point_embed\.(\d+)\.", r"prompt_encoder.point_embeddings.\1."),
    (r"^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm(\d)\.", r"{D}.layers.\1.norm\2."),
    (r"^mask_decoder\.transformer\.layer_norm_final_attn\.", "{D}.norm_final_attn."),
    (r"^mask_decoder\.upscale_conv1\.", "mask_decoder.output_upscaling.0."),
    (r"^mask_decoder\.upscale_layer_norm\.", "mask_decoder.output_upscaling.1."),
    (r"^mask_decoder\.upscale_conv2\.", "mask_decoder.output_upscaling.3."),
)
_PE = "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"


_SAM_MLPS = re.compile(r"(output_hypernetworks_mlps\.\d+|iou_prediction_head)$")


def hf_sam_to_engine(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers SamModel state dict under the engine's names (the tied copy of the
    positional matrix is kept once)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in hf_mlps_to_engine(sd, _SAM_MLPS).items():
        new = rename(key, _SAM_RULES).replace("{D}", "mask_decoder.transformer")
        new = new.replace("prompt_encoder.pe_layer.PE", _PE)
        if new == _PE and _PE in out:
            continue  # the prompt encoder's tied copy of shared_image_embedding
        out[new] = value
    return out


# What the engine's SAM network fixes; a config that differs cannot be built by it.
_SAM_FIXED = {
    "vision_config": {
        "image_size": 1024,
        "patch_size": 16,
        "window_size": 14,
        "mlp_ratio": 4.0,
        "output_channels": 256,
        "num_channels": 3,
        "use_abs_pos": True,
        "use_rel_pos": True,
        "qkv_bias": True,
        "hidden_act": "gelu",
    },
    "prompt_encoder_config": {"hidden_size": 256, "mask_input_channels": 16, "image_size": 1024},
    "mask_decoder_config": {
        "hidden_size": 256,
        "mlp_dim": 2048,
        "num_hidden_layers": 2,
        "num_attention_heads": 8,
        "attention_downsample_rate": 2,
        "num_multimask_outputs": 3,
        "iou_head_depth": 3,
        "iou_head_hidden_dim": 256,
    },
}


def sam_spec_from_config(config: Mapping[str, Any], path: Path) -> ModelSpec:
    """The ViT size a transformers SamConfig describes (any depth; widths of ViT-B/L/H)."""
    if config.get("model_type") not in (None, "sam"):
        raise UnknownArchitectureError(
            path, f"config.json model_type is {config.get('model_type')!r}, not 'sam'"
        )
    check_fixed(config, _SAM_FIXED, path)
    vision = config.get("vision_config") or {}
    dim = int(vision.get("hidden_size", 768))
    types = {cfg[0]: name for name, cfg in VIT_CONFIGS.items()}
    if dim not in types:
        raise UnknownArchitectureError(
            path, f"config.json vision hidden_size {dim}; expected 768, 1024 or 1280 (ViT-B/L/H)"
        )
    depth = int(vision.get("num_hidden_layers", 12))
    heads = int(vision.get("num_attention_heads", 12))
    glob = tuple(int(i) for i in vision.get("global_attn_indexes", (2, 5, 8, 11)))
    return ModelSpec(types[dim], depth, dim, heads, glob)
