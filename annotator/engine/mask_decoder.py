"""SAM's mask decoder: two-way transformer, upscaling, hypernetwork MLPs and the IoU head."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .common import MLP, LayerNorm2d
from .two_way_transformer import TwoWayTransformer


class MaskDecoder(nn.Module):
    def __init__(
        self,
        *,
        transformer_dim: int = 256,
        transformer: TwoWayTransformer,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
    ) -> None:
        super().__init__()
        self.transformer_dim = transformer_dim
        self.transformer = transformer
        self.num_multimask_outputs = num_multimask_outputs
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3)
            for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(
            transformer_dim, iou_head_hidden_dim, self.num_mask_tokens, iou_head_depth
        )

    def image_cache(
        self, image_embeddings: Tensor, image_pe: Tensor, no_mask_dense: Tensor
    ) -> dict[str, Any]:
        """Per-image work shared by all prompts without a mask input.

        image_embeddings (1, C, h, w) from the encoder; image_pe (1, C, h, w) dense PE;
        no_mask_dense: the prompt encoder's dense embedding for "no mask" (1, C, h, w).
        """
        src = image_embeddings + no_mask_dense[:1]
        cache: dict[str, Any] = dict(self.transformer.image_cache(src, image_pe))
        cache["chw"] = tuple(src.shape[1:])
        return cache

    def forward(
        self,
        image_embeddings: Tensor,
        image_pe: Tensor,
        sparse_prompt_embeddings: Tensor,
        dense_prompt_embeddings: Tensor | None,
        multimask_output: bool,
        image_cache: dict[str, Any] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Masks (B, C, 4h, 4w) logits and IoU predictions (B, C); C = 3 if multimask else 1.

        image_embeddings (1 or B, C, h, w) — a single image embedding is broadcast to every
        prompt instead of being copied; sparse (B, N, C); dense (B or 1, C, h, w).
        ``image_cache`` (from :meth:`image_cache`) replaces image_embeddings/pe/dense when
        the prompts carry no mask input.
        """
        mask_slice = slice(1, None) if multimask_output else slice(0, 1)
        b = sparse_prompt_embeddings.shape[0]
        output_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0)
        output_tokens = output_tokens.unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat((output_tokens, sparse_prompt_embeddings), dim=1)

        if image_cache is not None:
            c, h, w = image_cache["chw"]
            hs, src = self.transformer(None, None, tokens, cache=image_cache)
        else:
            dense = dense_prompt_embeddings
            if image_embeddings.shape[0] == 1 and dense.shape[0] > 1 and dense.stride(0) == 0:
                dense = dense[:1]  # the same for every prompt: broadcast instead of copying
            src = image_embeddings + dense
            _, c, h, w = src.shape
            hs, src = self.transformer(src, image_pe, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 1 + self.num_mask_tokens, :]

        src = src.transpose(1, 2).reshape(-1, c, h, w)
        upscaled = self.output_upscaling(src)
        idx = range(self.num_mask_tokens)[mask_slice]
        hyper_in = torch.stack(
            [self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :]) for i in idx], dim=1
        )
        bu, cu, hu, wu = upscaled.shape
        masks = (hyper_in @ upscaled.view(bu, cu, hu * wu)).view(b, -1, hu, wu)
        iou_pred = self.iou_prediction_head(iou_token_out)[:, mask_slice]
        return masks, iou_pred
