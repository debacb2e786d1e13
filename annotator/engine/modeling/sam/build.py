"""Architecture specs of the SAM family and the builder that turns one into a network."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from annotator.engine.modeling.architectures import MODEL_TYPES

from .image_encoder_vit import ImageEncoderViT
from .mask_decoder import MaskDecoder
from .prompt_encoder import PromptEncoder
from .sam import Sam
from .tiny_vit import TinyViT
from .two_way_transformer import TwoWayTransformer

# embed dim -> (official depth, heads, global attention block indexes)
VIT_CONFIGS = {
    "vit_b": (768, 12, 12, (2, 5, 8, 11)),
    "vit_l": (1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": (1280, 32, 16, (7, 15, 23, 31)),
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a network; ``depth``/``global_attn_indexes`` for ViTs only."""

    model_type: str
    depth: int = 0
    embed_dim: int = 0
    num_heads: int = 0
    global_attn_indexes: tuple[int, ...] = field(default_factory=tuple)
    classifier_head: bool = True

    @staticmethod
    def official(model_type: str) -> ModelSpec:
        if model_type in VIT_CONFIGS:
            dim, depth, heads, glob = VIT_CONFIGS[model_type]
            return ModelSpec(model_type, depth, dim, heads, glob)
        if model_type == "vit_t":
            return ModelSpec("vit_t")
        if model_type == "lite_medsam":
            return ModelSpec("lite_medsam", classifier_head=False)
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {MODEL_TYPES}")


def build_model(spec: ModelSpec) -> Sam:
    """Build an (untrained) network for ``spec``; use under ``torch.device('meta')`` to get
    shapes without allocating."""
    if spec.model_type in VIT_CONFIGS:
        encoder: nn.Module = ImageEncoderViT(
            img_size=1024,
            embed_dim=spec.embed_dim,
            depth=spec.depth,
            num_heads=spec.num_heads,
            global_attn_indexes=spec.global_attn_indexes,
        )
        img, normalization = 1024, "mean_std"
    elif spec.model_type == "vit_t":
        encoder = TinyViT(1024, stem_stride=4, classifier_head=spec.classifier_head)
        img, normalization = 1024, "mean_std"
    elif spec.model_type == "lite_medsam":
        encoder = TinyViT(256, stem_stride=1, classifier_head=spec.classifier_head)
        img, normalization = 256, "min_max"
    else:
        raise ValueError(f"unknown model_type {spec.model_type!r}; expected one of {MODEL_TYPES}")
    prompt_encoder = PromptEncoder(256, (64, 64), (img, img), 16)
    decoder = MaskDecoder(
        transformer_dim=256,
        transformer=TwoWayTransformer(depth=2, embedding_dim=256, num_heads=8, mlp_dim=2048),
        num_multimask_outputs=3,
        iou_head_depth=3,
        iou_head_hidden_dim=256,
    )
    model = Sam(encoder, prompt_encoder, decoder, spec.model_type, normalization)
    return model.eval()
