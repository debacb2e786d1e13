"""SAM's mask decoder: two-way transformer, upscaling, hypernetwork MLPs and the IoU head."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.modeling.common import MLP, LayerNorm2d

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

    def _upscale_and_project(self, src: Tensor, h: int, w: int, hyper_in: Tensor) -> Tensor:
        """``output_upscaling`` then the hypernetwork product, without the spatial copies.

        src (Bs, h*w, C) image tokens (Bs is B or 1); hyper_in (B, M, C/8). Returns (B, M, 4h, 4w).
        Both transposed convs have kernel 2 = stride 2, so every output pixel depends on one
        input pixel: each is a per-token matmul, LayerNorm2d and GELU are per pixel too, and
        the 4x4 sub-pixels are put in place once, on the final M-channel masks.
        """
        up1, ln, _, up2, _ = self.output_upscaling
        bs, n, c = src.shape
        c1, c2 = up1.out_channels, up2.out_channels
        # (C, C1, 2, 2) -> (C, 2*2*C1): column order (di, dj, c1)
        w1 = up1.weight.permute(0, 2, 3, 1).reshape(c, 4 * c1)
        x = torch.addmm(up1.bias.repeat(4), src.reshape(bs * n, c), w1)
        x = F.layer_norm(x.view(-1, c1), (c1,), ln.weight, ln.bias, ln.eps)
        x = F.gelu(x)
        w2 = up2.weight.permute(0, 2, 3, 1).reshape(c1, 4 * c2)
        # rows (token, di, dj), columns (ei, ej, c2)
        x = F.gelu(torch.addmm(up2.bias.repeat(4), x, w2))
        b, m, _ = hyper_in.shape
        x = x.view(bs, n * 16, c2)
        masks = x @ hyper_in.transpose(1, 2)  # (B, n*16, M); broadcasts a batch-1 src
        masks = masks.view(b, h, w, 2, 2, 2, 2, m).permute(0, 7, 1, 3, 5, 2, 4, 6)
        return masks.reshape(b, m, 4 * h, 4 * w)

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
            _, h, w = image_cache["chw"]
            hs, src = self.transformer(None, None, tokens, cache=image_cache)
        else:
            dense = dense_prompt_embeddings
            if image_embeddings.shape[0] == 1 and dense.shape[0] > 1 and dense.stride(0) == 0:
                dense = dense[:1]  # the same for every prompt: broadcast instead of copying
            src = image_embeddings + dense
            h, w = src.shape[-2:]
            hs, src = self.transformer(src, image_pe, tokens)
        iou_token_out = hs[:, 0, :]
        mask_tokens_out = hs[:, 1 : 1 + self.num_mask_tokens, :]

        idx = range(self.num_mask_tokens)[mask_slice]
        hyper_in = torch.stack(
            [self.output_hypernetworks_mlps[i](mask_tokens_out[:, i, :]) for i in idx], dim=1
        )
        masks = self._upscale_and_project(src, h, w, hyper_in)
        iou_pred = self.iou_prediction_head(iou_token_out)[:, mask_slice]
        return masks, iou_pred
