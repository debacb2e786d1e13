"""SAM 2.1 architecture specs (the four official Hiera sizes) and the network builder."""

from __future__ import annotations

from dataclasses import dataclass

from .hiera import Hiera
from .image_encoder import FpnNeck, ImageEncoder
from .sam2 import Sam2


@dataclass(frozen=True)
class Sam2Spec:
    """A Hiera trunk configuration (the rest of SAM 2.1 is the same for every size)."""

    model_type: str
    embed_dim: int
    num_heads: int
    stages: tuple[int, ...]
    global_att_blocks: tuple[int, ...]
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (14, 14)

    @property
    def depth(self) -> int:
        return sum(self.stages)

    @staticmethod
    def official(model_type: str) -> Sam2Spec:
        if model_type not in SAM2_CONFIGS:
            raise ValueError(f"unknown SAM 2.1 model_type {model_type!r}")
        return SAM2_CONFIGS[model_type]


# As in Meta's configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml.
SAM2_CONFIGS = {
    "sam2.1_hiera_t": Sam2Spec(
        "sam2.1_hiera_t", 96, 1, (1, 2, 7, 2), (5, 7, 9), (8, 4, 14, 7), (7, 7)
    ),
    "sam2.1_hiera_s": Sam2Spec(
        "sam2.1_hiera_s", 96, 1, (1, 2, 11, 2), (7, 10, 13), (8, 4, 14, 7), (7, 7)
    ),
    "sam2.1_hiera_b+": Sam2Spec("sam2.1_hiera_b+", 112, 2, (2, 3, 16, 3), (12, 16, 20)),
    "sam2.1_hiera_l": Sam2Spec(
        "sam2.1_hiera_l", 144, 2, (2, 6, 36, 4), (23, 33, 43), (8, 4, 16, 8), (7, 7)
    ),
}


def build_sam2(spec: Sam2Spec) -> Sam2:
    """An untrained SAM 2.1 network for ``spec`` (use under ``torch.device('meta')`` for shapes
    without allocating)."""
    trunk = Hiera(
        embed_dim=spec.embed_dim,
        num_heads=spec.num_heads,
        stages=spec.stages,
        global_att_blocks=spec.global_att_blocks,
        window_pos_embed_bkg_spatial_size=spec.window_pos_embed_bkg_spatial_size,
        window_spec=spec.window_spec,
    )
    d = spec.embed_dim
    neck = FpnNeck(256, [8 * d, 4 * d, 2 * d, d], fpn_top_down_levels=(2, 3))
    return Sam2(ImageEncoder(trunk, neck, scalp=1), spec.model_type).eval()
