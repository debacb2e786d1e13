"""Tiny segment-anything models for fast parity tests of the mask generator.

Random decoders give near-image-sized noise masks that box NMS collapses to one, which would
leave NMS, crop-edge filtering and crop merging untested. `tiny_sam(localised=True)` swaps in
`BlobDecoder`, whose masks are blobs around the prompt point (a random-Fourier-feature kernel
between the point's and each pixel's positional encoding) roughened by the image embedding.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from torch import nn


class BlobDecoder(nn.Module):
    """Same call and outputs as segment-anything's `MaskDecoder`, with localised masks."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.texture = nn.Conv2d(dim, 3, kernel_size=1)
        self.iou_head = nn.Linear(dim, 3)
        self.register_buffer("levels", torch.tensor([0.15, 0.3, 0.5]))

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        point = sparse_prompt_embeddings[:, 0]  # (B, C): PE(point) + a learned bias
        dim = point.shape[-1]
        kernel = torch.einsum("bc,chw->bhw", point, image_pe[0]) / (dim / 2)  # (B, h, w)
        src = image_embeddings + dense_prompt_embeddings  # (B or 1, C, h, w)
        texture = torch.tanh(self.texture(src))  # (., 3, h, w)
        logits = kernel[:, None] - self.levels[None, :, None, None] + 0.2 * texture
        logits = F.interpolate(logits * 20.0, scale_factor=4, mode="bilinear", align_corners=False)
        pooled = (src.mean(dim=(-1, -2)) + point).float()
        iou = torch.sigmoid(self.iou_head(pooled))
        if not multimask_output:
            return logits[:, :1], iou[:, :1]
        return logits, iou


def tiny_sam(seed: int = 0, img_size: int = 256, dim: int = 32, localised: bool = True) -> Sam:
    """A reference `Sam` with a 2-block ViT (16x16 embedding, 64x64 low-res masks), seeded."""
    torch.manual_seed(seed)
    grid = img_size // 16
    decoder: nn.Module
    if localised:
        decoder = BlobDecoder(dim)
    else:
        decoder = MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=2, embedding_dim=dim, mlp_dim=64, num_heads=2),
            transformer_dim=dim,
            iou_head_depth=3,
            iou_head_hidden_dim=32,
        )
    sam = Sam(
        image_encoder=ImageEncoderViT(
            img_size=img_size,
            patch_size=16,
            embed_dim=32,
            depth=2,
            num_heads=2,
            mlp_ratio=2,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=(1,),
            window_size=4,
            out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(grid, grid),
            input_image_size=(img_size, img_size),
            mask_in_chans=4,
        ),
        mask_decoder=decoder,  # type: ignore[arg-type]
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    with torch.no_grad():
        for p in sam.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return sam.eval()
