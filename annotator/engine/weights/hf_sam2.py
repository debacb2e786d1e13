"""transformers SAM 2 / SAM 2.1 checkpoints (``Sam2Model``, ``Sam2VideoModel``) -> the engine's
SAM 2.1 network (Meta's ``SAM2Base`` names).

The Hub's SAM 2.1 repositories hold the video model's weights (memory attention and encoder
included); a ``Sam2Model.save_pretrained`` folder holds the image path only. Such a checkpoint
loads for images, with the memory modules zero and a warning that it cannot track.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from annotator.engine.errors import UnknownArchitectureError
from annotator.engine.modeling.sam2 import SAM2_CONFIGS, Sam2Spec
from annotator.engine.weights.hf_keys import check_fixed, hf_mlps_to_engine, rename

_RULES: tuple[tuple[str, str], ...] = (
    # image encoder
    (
        r"^vision_encoder\.backbone\.patch_embed\.projection\.",
        "image_encoder.trunk.patch_embed.proj.",
    ),
    (
        r"^vision_encoder\.backbone\.blocks\.(\d+)\.layer_norm(\d)\.",
        r"image_encoder.trunk.blocks.\1.norm\2.",
    ),
    (r"^vision_encoder\.backbone\.", "image_encoder.trunk."),
    (r"^vision_encoder\.neck\.convs\.(\d+)\.", r"image_encoder.neck.convs.\1.conv."),
    # prompt encoder (the point embeddings are split below)
    (r"^shared_image_embedding\.positional_embedding$", "sam_prompt_encoder.pe_layer.PE"),
    (r"^prompt_encoder\.shared_embedding\.positional_embedding$", "sam_prompt_encoder.pe_layer.PE"),
    (r"^prompt_encoder\.mask_embed\.conv1\.", "sam_prompt_encoder.mask_downscaling.0."),
    (r"^prompt_encoder\.mask_embed\.layer_norm1\.", "sam_prompt_encoder.mask_downscaling.1."),
    (r"^prompt_encoder\.mask_embed\.conv2\.", "sam_prompt_encoder.mask_downscaling.3."),
    (r"^prompt_encoder\.mask_embed\.layer_norm2\.", "sam_prompt_encoder.mask_downscaling.4."),
    (r"^prompt_encoder\.mask_embed\.conv3\.", "sam_prompt_encoder.mask_downscaling.6."),
    (r"^prompt_encoder\.", "sam_prompt_encoder."),
    # mask decoder
    (
        r"^mask_decoder\.transformer\.layers\.(\d+)\.layer_norm(\d)\.",
        r"sam_mask_decoder.transformer.layers.\1.norm\2.",
    ),
    (
        r"^mask_decoder\.transformer\.layer_norm_final_attn\.",
        "sam_mask_decoder.transformer.norm_final_attn.",
    ),
    (r"^mask_decoder\.upscale_conv1\.", "sam_mask_decoder.output_upscaling.0."),
    (r"^mask_decoder\.upscale_layer_norm\.", "sam_mask_decoder.output_upscaling.1."),
    (r"^mask_decoder\.upscale_conv2\.", "sam_mask_decoder.output_upscaling.3."),
    (r"^mask_decoder\.", "sam_mask_decoder."),
    (r"\.o_proj\.", ".out_proj."),
    # memory attention and encoder (video model only)
    (r"^memory_attention\.layers\.(\d+)\.layer_norm(\d)\.", r"memory_attention.layers.\1.norm\2."),
    (r"^memory_attention\.layer_norm\.", "memory_attention.norm."),
    (
        r"^memory_encoder\.mask_downsampler\.layers\.(\d+)\.conv\.",
        r"memory_encoder.mask_downsampler.encoder.C\1.",
    ),
    (
        r"^memory_encoder\.mask_downsampler\.layers\.(\d+)\.layer_norm\.",
        r"memory_encoder.mask_downsampler.encoder.N\1.",
    ),
    (
        r"^memory_encoder\.mask_downsampler\.final_conv\.",
        "memory_encoder.mask_downsampler.encoder.F.",
    ),
    (r"^memory_encoder\.feature_projection\.", "memory_encoder.pix_feat_proj."),
    (
        r"^memory_encoder\.memory_fuser\.layers\.(\d+)\.scale$",
        r"memory_encoder.fuser.layers.\1.gamma",
    ),
    (
        r"^memory_encoder\.memory_fuser\.layers\.(\d+)\.depthwise_conv\.",
        r"memory_encoder.fuser.layers.\1.dwconv.",
    ),
    (
        r"^memory_encoder\.memory_fuser\.layers\.(\d+)\.layer_norm\.",
        r"memory_encoder.fuser.layers.\1.norm.",
    ),
    (
        r"^memory_encoder\.memory_fuser\.layers\.(\d+)\.pointwise_conv(\d)\.",
        r"memory_encoder.fuser.layers.\1.pwconv\2.",
    ),
    (r"^memory_encoder\.projection\.", "memory_encoder.out_proj."),
    (r"^no_memory_embedding$", "no_mem_embed"),
    (r"^no_memory_positional_encoding$", "no_mem_pos_enc"),
    (r"^memory_temporal_positional_encoding$", "maskmem_tpos_enc"),
    (r"^no_object_pointer$", "no_obj_ptr"),
    (r"^occlusion_spatial_embedding_parameter$", "no_obj_embed_spatial"),
    (r"^object_pointer_proj\.", "obj_ptr_proj."),
    (r"^temporal_positional_encoding_projection_layer\.", "obj_ptr_tpos_proj."),
)
_PE = "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"
_MLPS = re.compile(
    r"(\.mlp|output_hypernetworks_mlps\.\d+|iou_prediction_head|pred_obj_score_head"
    r"|object_pointer_proj)$"
)
# Meta's mask downsampler is one Sequential: (conv, LayerNorm2d, GELU) per stage, then a conv.
_DOWNSAMPLER = re.compile(r"^(memory_encoder\.mask_downsampler\.encoder\.)([CNF])(\d*)\.")
_MEMORY_PREFIXES = ("memory_attention.", "memory_encoder.", "maskmem_tpos_enc", "no_mem_pos_enc")
_MEMORY_PREFIXES += ("no_obj_ptr", "no_obj_embed_spatial", "mask_downsample.", "obj_ptr_")


def hf_sam2_to_engine(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A transformers Sam2Model / Sam2VideoModel state dict under the engine's names."""
    stages = 1 + max(
        (int(m.group(1)) for k in sd if (m := re.search(r"mask_downsampler\.layers\.(\d+)\.", k))),
        default=-1,
    )
    out: dict[str, torch.Tensor] = {}
    for key, value in hf_mlps_to_engine(sd, _MLPS).items():
        new = rename(key, _RULES).replace("sam_prompt_encoder.pe_layer.PE", _PE)
        if new == _PE and _PE in out:
            continue  # the prompt encoder's tied copy
        if new == "sam_prompt_encoder.point_embed.weight":  # one (4, 256) table -> 4 x (1, 256)
            for i, row in enumerate(value):
                out[f"sam_prompt_encoder.point_embeddings.{i}.weight"] = row[None].clone()
            continue
        m = _DOWNSAMPLER.match(new)
        if m:
            kind, stage = m.group(2), int(m.group(3) or 0)
            index = 3 * stages if kind == "F" else 3 * stage + (kind == "N")
            new = f"{m.group(1)}{index}." + new[m.end() :]
        out[new] = value
    return out


def complete_image_only(
    sd: dict[str, torch.Tensor], spec: Sam2Spec, path: Path
) -> dict[str, torch.Tensor]:
    """Zero-fill the memory modules of an image-only (``Sam2Model``) checkpoint, and warn."""
    if any(k.startswith("memory_attention.") for k in sd):
        return sd
    from annotator.engine.modeling.sam2 import build_sam2

    with torch.device("meta"):
        shapes = {k: v.shape for k, v in build_sam2(spec).state_dict().items()}
    for key, shape in shapes.items():
        if key not in sd and key.startswith(_MEMORY_PREFIXES):
            sd[key] = torch.zeros(shape)
    warnings.warn(
        f"{path}: a transformers Sam2Model checkpoint (image model only, no memory weights): "
        "it segments images; video tracking needs the full SAM 2.1 checkpoint "
        "(the Hub's facebook/sam2.1-hiera-* repositories hold it)",
        UserWarning,
        stacklevel=3,
    )
    return sd


_FIXED = {
    "vision_config": {"fpn_hidden_size": 256, "backbone_channel_list": None},
    "prompt_encoder_config": {"hidden_size": 256, "mask_input_channels": 16, "image_size": 1024},
    "mask_decoder_config": {"hidden_size": 256, "num_multimask_outputs": 3, "iou_head_depth": 3},
}


def sam2_spec_from_config(config: Mapping[str, Any], path: Path) -> Sam2Spec:
    """The SAM 2.1 size a transformers Sam2Config / Sam2VideoConfig describes; it must be one
    of the four official Hiera trunks (the engine builds those)."""
    fixed = {k: {n: v for n, v in d.items() if v is not None} for k, d in _FIXED.items()}
    check_fixed(config, fixed, path)
    trunk = (config.get("vision_config") or {}).get("backbone_config") or {}
    shape = (trunk.get("hidden_size"), tuple(trunk.get("blocks_per_stage") or ()))
    for spec in SAM2_CONFIGS.values():
        if (spec.embed_dim, spec.stages) != shape:
            continue
        stated = {
            "num_attention_heads": spec.num_heads,
            "global_attention_blocks": list(spec.global_att_blocks),
            "window_size_per_stage": list(spec.window_spec),
            "window_positional_embedding_background_size": list(
                spec.window_pos_embed_bkg_spatial_size
            ),
        }
        check_fixed({"backbone_config": trunk}, {"backbone_config": stated}, path)
        return spec
    known = "; ".join(f"{s.model_type}: {s.embed_dim}, {s.stages}" for s in SAM2_CONFIGS.values())
    raise UnknownArchitectureError(
        path,
        f"config.json describes a SAM 2 Hiera of width {shape[0]} with blocks per stage "
        f"{shape[1]}, not a SAM 2.1 size (width, blocks: {known})",
    )
