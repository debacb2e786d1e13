"""SAM 2's prompt encoder and mask decoder (``sam_prompt_encoder`` / ``sam_mask_decoder``).

The prompt encoder is SAM's, plus labels 2 and 3 for box corners given as points. The decoder
is SAM's two-way transformer (MLP keys ``mlp.layers.i``) with an object-score token and head,
high-resolution skip features added while upscaling, sigmoid IoU scores and, for single-mask
output, the dynamic fallback to the best multimask output when the single mask is unstable.
"""

from __future__ import annotations

from typing import Any

import torch
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
            c, h, w = cache["chw"]
            hs, src = self.transformer(None, None, tokens, cache=cache)
        else:
            if image.shape[0] == 1 and dense.shape[0] > 1 and dense.stride(0) == 0:
                dense = dense[:1]
            src = image + dense
            c, h, w = src.shape[1:]
            hs, src = self.transformer(src, image_pe, tokens)
        iou_out = hs[:, s, :]
        mask_tokens_out = hs[:, s + 1 : s + 1 + self.num_mask_tokens, :]
        src = src.transpose(1, 2).reshape(src.shape[0], c, h, w)
        dc1, ln1, act1, dc2, act2 = self.output_upscaling
        feat_s0, feat_s1 = high_res
        up = act1(ln1(dc1(src) + feat_s1))
        up = act2(dc2(up) + feat_s0)  # (Bs, C/8, 4h, 4w)
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)],
            dim=1,
        )  # (B, M, C/8)
        bs, cc, uh, uw = up.shape
        masks = (hyper_in @ up.view(bs, cc, uh * uw)).view(b, -1, uh, uw)
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
