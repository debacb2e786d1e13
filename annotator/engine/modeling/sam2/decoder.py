"""SAM 2's prompt encoder and mask decoder (``sam_prompt_encoder`` / ``sam_mask_decoder``).

The prompt encoder is SAM's, plus labels 2 and 3 for box corners given as points. The decoder
is SAM's two-way transformer (MLP keys ``mlp.layers.i``) with an object-score token and head,
high-resolution skip features added while upscaling, sigmoid IoU scores and, for single-mask
output, the dynamic fallback to the best multimask output when the single mask is unstable.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.modeling.common import MLP, LayerNorm2d
from annotator.engine.modeling.sam.prompt_encoder import PromptEncoder
from annotator.engine.modeling.sam.two_way_transformer import TwoWayTransformer


class Sam2PromptEncoder(PromptEncoder):
    """Points (B, N, 2) in 1024-pixel coordinates with labels -1 (padding), 0, 1, 2, 3."""

    def _embed_points(self, points: Tensor, labels: Tensor, pad: bool) -> Tensor:
        emb = super()._embed_points(points, labels, pad)
        if pad:
            labels = torch.cat([labels, -labels.new_ones((labels.shape[0], 1))], dim=1)
        labels = labels[..., None]
        emb = emb + torch.where(labels == 2, self.point_embeddings[2].weight, 0.0)
        return emb + torch.where(labels == 3, self.point_embeddings[3].weight, 0.0)


def sam2_transformer() -> TwoWayTransformer:
    """SAM's two-way transformer with SAM 2's MLP key names (``mlp.layers.0/1``, ReLU)."""
    t = TwoWayTransformer(depth=2, embedding_dim=256, num_heads=8, mlp_dim=2048)
    for layer in t.layers:
        layer.mlp = MLP(256, 2048, 256, 2)
    return t


class Sam2MaskDecoder(nn.Module):
    def __init__(
        self,
        transformer_dim: int = 256,
        num_multimask_outputs: int = 3,
        pred_obj_scores: bool = True,
        pred_obj_scores_mlp: bool = True,
        use_multimask_token_for_obj_ptr: bool = True,
        iou_prediction_use_sigmoid: bool = True,
        dynamic_multimask_via_stability: bool = True,
        dynamic_multimask_stability_delta: float = 0.05,
        dynamic_multimask_stability_thresh: float = 0.98,
    ) -> None:
        super().__init__()
        c = transformer_dim
        self.transformer_dim = c
        self.transformer = sam2_transformer()
        self.num_multimask_outputs = num_multimask_outputs
        self.iou_token = nn.Embedding(1, c)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, c)
        self.pred_obj_scores = pred_obj_scores
        if pred_obj_scores:
            self.obj_score_token = nn.Embedding(1, c)
        self.use_multimask_token_for_obj_ptr = use_multimask_token_for_obj_ptr
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(c, c // 4, kernel_size=2, stride=2),
            LayerNorm2d(c // 4),
            nn.GELU(),
            nn.ConvTranspose2d(c // 4, c // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.conv_s0 = nn.Conv2d(c, c // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(c, c // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(c, c, c // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(c, 256, self.num_mask_tokens, 3)
        self.iou_prediction_use_sigmoid = iou_prediction_use_sigmoid
        if pred_obj_scores:
            self.pred_obj_score_head = MLP(c, c, 1, 3) if pred_obj_scores_mlp else nn.Linear(c, 1)
        self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
        self.stability_delta = dynamic_multimask_stability_delta
        self.stability_thresh = dynamic_multimask_stability_thresh

    def image_cache(
        self, image_embeddings: Tensor, image_pe: Tensor, no_mask_dense: Tensor
    ) -> dict[str, Any]:
        """Per-image transformer inputs shared by every prompt without a mask input.

        image_embeddings (1, C, 64, 64); image_pe (1, C, 64, 64); no_mask_dense (1, C, 64, 64).
        """
        src = image_embeddings + no_mask_dense[:1]
        cache: dict[str, Any] = dict(self.transformer.image_cache(src, image_pe))
        cache["chw"] = tuple(src.shape[1:])
        return cache

    @staticmethod
    def high_res_layout(high_res: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        """The skip features laid out as :meth:`_upscale_and_project` adds them.

        s0 (1, C0, 4h, 4w) -> (h*w*4, 4*C0), rows (i, j, di, dj), columns (ei, ej, c);
        s1 (1, C1, 2h, 2w) -> (h*w, 4*C1), rows (i, j), columns (di, dj, c); pixel rows are
        y = 4i + 2di + ei at 4x and y = 2i + di at 2x.
        """
        s0, s1 = high_res
        c0, c1 = s0.shape[1], s1.shape[1]
        h, w = s1.shape[2] // 2, s1.shape[3] // 2
        l1 = s1[0].view(c1, h, 2, w, 2).permute(1, 3, 2, 4, 0).reshape(h * w, 4 * c1)
        l0 = s0[0].view(c0, h, 2, 2, w, 2, 2).permute(1, 4, 2, 5, 3, 6, 0)
        return l0.reshape(h * w * 4, 4 * c0), l1

    def _upscale_and_project(
        self, src: Tensor, h: int, w: int, hyper_in: Tensor, layout: tuple[Tensor, Tensor]
    ) -> Tensor:
        """``output_upscaling`` with the skip features added, then the hypernetwork product.

        src (Bs, h*w, C) image tokens (Bs is B or 1); hyper_in (B, M, C/8); layout from
        :meth:`high_res_layout`. Returns (B, M, 4h, 4w). Both transposed convs have kernel 2 =
        stride 2, so each is a per-token matmul; LayerNorm2d and GELU are per pixel, and the
        sub-pixels are put in place once, on the final M-channel masks.
        """
        up1, ln, _, up2, _ = self.output_upscaling
        l0, l1 = layout
        bs, n, c = src.shape
        c1, c2 = up1.out_channels, up2.out_channels
        w1 = up1.weight.permute(0, 2, 3, 1).reshape(c, 4 * c1)  # columns (di, dj, c1)
        x = torch.addmm(up1.bias.repeat(4), src.reshape(bs * n, c), w1).view(bs, n, 4 * c1)
        x = F.layer_norm((x + l1).view(-1, c1), (c1,), ln.weight, ln.bias, ln.eps)
        x = F.gelu(x)  # rows (b, token, di, dj)
        w2 = up2.weight.permute(0, 2, 3, 1).reshape(c1, 4 * c2)  # columns (ei, ej, c2)
        x = torch.addmm(up2.bias.repeat(4), x, w2).view(bs, n * 4, 4 * c2)
        x = F.gelu(x + l0).view(bs, n * 16, c2)
        b, m, _ = hyper_in.shape
        masks = x @ hyper_in.transpose(1, 2)  # (B, n*16, M)
        masks = masks.view(b, h, w, 2, 2, 2, 2, m).permute(0, 7, 1, 3, 5, 2, 4, 6)
        return masks.reshape(b, m, 4 * h, 4 * w)

    def forward(
        self,
        image_embeddings: Tensor,
        image_pe: Tensor,
        sparse_prompt_embeddings: Tensor,
        dense_prompt_embeddings: Tensor,
        multimask_output: bool,
        high_res_features: tuple[Tensor, Tensor],
        image_cache: dict[str, Any] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Masks (B, M, 256, 256) logits, IoU scores (B, M), SAM output tokens (B, M', C) for
        the object pointer and object-score logits (B, 1); M = 3 with multimask, else 1.

        image_embeddings (1, C, 64, 64) with no_mem_embed added; sparse (B, N, C); dense
        (B or 1, C, 64, 64); high_res_features ((1, C/8, 256, 256), (1, C/4, 128, 128)).
        """
        masks, iou, tokens, obj = self._predict_masks(
            image_embeddings,
            image_pe,
            sparse_prompt_embeddings,
            dense_prompt_embeddings,
            high_res_features,
            image_cache,
        )
        if multimask_output:
            masks, iou = masks[:, 1:], iou[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou = self._dynamic_multimask(masks, iou)
        else:
            masks, iou = masks[:, 0:1], iou[:, 0:1]
        if multimask_output and self.use_multimask_token_for_obj_ptr:
            sam_tokens = tokens[:, 1:]
        else:
            sam_tokens = tokens[:, 0:1]
        return masks, iou, sam_tokens, obj

    def _predict_masks(self, image, image_pe, sparse, dense, high_res, cache):
        s = 1 if self.pred_obj_scores else 0
        parts = [self.iou_token.weight, self.mask_tokens.weight]
        if self.pred_obj_scores:
            parts.insert(0, self.obj_score_token.weight)
        b = sparse.shape[0]
        tokens = torch.cat(parts, dim=0).unsqueeze(0).expand(b, -1, -1)
        tokens = torch.cat((tokens, sparse), dim=1)
        if cache is not None:
            _, h, w = cache["chw"]
            hs, src = self.transformer(None, None, tokens, cache=cache)
        else:
            if image.shape[0] == 1 and dense.shape[0] > 1 and dense.stride(0) == 0:
                dense = dense[:1]
            src = image + dense
            _, h, w = src.shape[1:]
            hs, src = self.transformer(src, image_pe, tokens)
        iou_out = hs[:, s, :]
        mask_tokens_out = hs[:, s + 1 : s + 1 + self.num_mask_tokens, :]
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )  # (B, M, C/8)
        layout = cache.get("high_res_layout") if cache is not None else None
        if layout is None:
            layout = self.high_res_layout(high_res)
            if cache is not None:
                cache["high_res_layout"] = layout
        masks = self._upscale_and_project(src, h, w, hyper_in, layout)
        iou = self.iou_prediction_head(iou_out)
        if self.iou_prediction_use_sigmoid:
            iou = iou.sigmoid()
        if self.pred_obj_scores:
            obj = self.pred_obj_score_head(hs[:, 0, :])
        else:
            obj = 10.0 * iou.new_ones(iou.shape[0], 1)
        return masks, iou, mask_tokens_out, obj

    def _dynamic_multimask(self, masks: Tensor, iou: Tensor) -> tuple[Tensor, Tensor]:
        """Keep the single-mask output (token 0) where it is stable, else the multimask output
        with the highest predicted IoU. masks (B, 4, H, W), iou (B, 4) -> (B, 1, ...)."""
        multi, multi_iou = masks[:, 1:], iou[:, 1:]
        best = torch.argmax(multi_iou, dim=-1)
        rows = torch.arange(multi_iou.shape[0], device=iou.device)
        best_masks = multi[rows, best].unsqueeze(1)
        best_iou = multi_iou[rows, best].unsqueeze(1)
        single, single_iou = masks[:, 0:1], iou[:, 0:1]
        flat = single.flatten(-2)
        area_i = torch.sum(flat > self.stability_delta, dim=-1).float()
        area_u = torch.sum(flat > -self.stability_delta, dim=-1).float()
        stable = torch.where(area_u > 0, area_i / area_u, 1.0) >= self.stability_thresh
        out_masks = torch.where(stable[..., None, None].expand_as(single), single, best_masks)
        out_iou = torch.where(stable.expand_as(single_iou), single_iou, best_iou)
        return out_masks, out_iou
