"""Trace-friendly ``nn.Module`` wrappers around a loaded :class:`Sam` for ONNX export.

:class:`SamOnnxDecoder` has the interface of segment-anything's ``SamOnnxModel`` (what the
official ``scripts/export_onnx_model.py`` exports, and what the browser demo, X-AnyLabeling,
labelme/osam and CVAT consume):

inputs
    image_embeddings (1, 256, 64, 64) float32 from the image encoder;
    point_coords (1, N, 2) float32 xy in model-input pixels (original pixels mapped by the
    model's resize-longest-side transform), N dynamic; a box is two points (top-left label 2,
    bottom-right label 3); without a box, add a padding point (0, 0) with label -1;
    point_labels (1, N) float32: -1 padding, 0 background, 1 foreground, 2/3 box corners;
    mask_input (1, 1, 256, 256) float32 low-res logits of an earlier call;
    has_mask_input (1,) float32, 1 to use ``mask_input``, 0 to ignore it;
    orig_im_size (2,) float32 (H, W) of the original image.
outputs
    masks (1, C, H, W) float32 logits at the original size (threshold at 0);
    iou_predictions (1, C) float32; low_res_masks (1, C, 256, 256) float32 logits;
    C = 4 (the single-mask token first, then the three multimask outputs), or 1 with
    ``return_single_mask`` (best multimask output, or the single-mask token for N > 2.5 points,
    as upstream).

:class:`PromptDecoder` is what the :class:`~annotator.engine.predictor.Predictor` runs in ONNX
Runtime: the same prompt encoding and decoder, batched (B, N dynamic), fed the per-image
tensors that :meth:`MaskDecoder.image_cache` computes once per image, and stopping at the
low-res logits (the predictor's OpenCV postprocessing is faster than an ONNX resize).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.amg.mask_ops import stability_score
from annotator.engine.modeling.sam import Sam


class _PromptAndDecoder(nn.Module):
    """Prompt encoding (points with labels -1..3, dense mask) and all four decoder outputs."""

    def __init__(self, model: Sam) -> None:
        super().__init__()
        self.model = model
        self.img_size = model.img_size
        self.num_mask_tokens = model.mask_decoder.num_mask_tokens

    def embed_points(self, coords: Tensor, labels: Tensor) -> Tensor:
        """(B, N, 2) model-input xy, (B, N) float labels -> (B, N, 256) sparse embeddings."""
        pe = self.model.prompt_encoder
        h, w = pe.input_image_size
        coords = (coords + 0.5) / coords.new_tensor([w, h])
        emb = pe.pe_layer._pe_encoding(coords)
        labels = labels.unsqueeze(-1)
        emb = emb * (labels != -1) + pe.not_a_point_embed.weight * (labels == -1)
        for i in range(pe.num_point_embeddings):
            emb = emb + pe.point_embeddings[i].weight * (labels == i)
        return emb

    def embed_masks(self, mask_input: Tensor, has_mask_input: Tensor) -> Tensor:
        """(B, 1, 256, 256) logits, (1,) flag -> (B, 256, 64, 64) dense embedding."""
        pe = self.model.prompt_encoder
        dense = has_mask_input * pe.mask_downscaling(mask_input)
        return dense + (1 - has_mask_input) * pe.no_mask_embed.weight.reshape(1, -1, 1, 1)

    def heads(self, hs: Tensor, src: Tensor, h: int, w: int) -> tuple[Tensor, Tensor]:
        """Decoder heads on transformer outputs: (B, 4, 4h, 4w) logits and (B, 4) scores."""
        dec = self.model.mask_decoder
        hyper_in = torch.stack(
            [
                dec.output_hypernetworks_mlps[i](hs[:, 1 + i, :])
                for i in range(self.num_mask_tokens)
            ],
            dim=1,
        )
        masks = dec._upscale_and_project(src, h, w, hyper_in)
        return masks, dec.iou_prediction_head(hs[:, 0, :])

    def tokens(self, sparse: Tensor) -> Tensor:
        dec = self.model.mask_decoder
        out = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight], dim=0)
        out = out.unsqueeze(0).expand(sparse.shape[0], -1, -1)
        return torch.cat((out, sparse), dim=1)

    def decode(
        self, image_embeddings: Tensor, sparse: Tensor, dense: Tensor
    ) -> tuple[Tensor, Tensor]:
        """image_embeddings (1, 256, h, w), sparse (B, N, 256), dense (B, 256, h, w)."""
        src = image_embeddings + dense
        h, w = src.shape[-2:]
        image_pe = self.model.prompt_encoder.get_dense_pe()
        hs, keys = self.model.mask_decoder.transformer(src, image_pe, self.tokens(sparse))
        return self.heads(hs, keys, h, w)


class SamOnnxDecoder(_PromptAndDecoder):
    """The official ONNX decoder interface (see the module docstring) on our networks."""

    def __init__(
        self, model: Sam, return_single_mask: bool = False, use_stability_score: bool = False
    ) -> None:
        super().__init__(model)
        self.return_single_mask = return_single_mask
        self.use_stability_score = use_stability_score
        self.stability_score_offset = 1.0
        self.mask_threshold = float(model.mask_threshold)

    def resize_longest_image_size(self, size: Tensor) -> Tensor:
        size = size.to(torch.float32)
        scale = self.img_size / torch.max(size)
        return torch.floor(scale * size + 0.5).to(torch.int64)

    def mask_postprocessing(self, masks: Tensor, orig_im_size: Tensor) -> Tensor:
        if masks.shape[-1] != self.img_size:  # LiteMedSAM's low-res masks are already 256
            masks = F.interpolate(
                masks, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False
            )
        pre = self.resize_longest_image_size(orig_im_size)
        masks = masks[..., : pre[0], : pre[1]]
        size = orig_im_size.to(torch.int64)
        return F.interpolate(masks, size=(size[0], size[1]), mode="bilinear", align_corners=False)

    def select_masks(self, masks: Tensor, scores: Tensor, num_points: int) -> tuple[Tensor, Tensor]:
        reweight = torch.tensor([[1000] + [0] * (self.num_mask_tokens - 1)], device=scores.device)
        best = torch.argmax(scores + (num_points - 2.5) * reweight, dim=1)
        rows = torch.arange(masks.shape[0])
        return masks[rows, best].unsqueeze(1), scores[rows, best].unsqueeze(1)

    @torch.no_grad()
    def forward(
        self,
        image_embeddings: Tensor,
        point_coords: Tensor,
        point_labels: Tensor,
        mask_input: Tensor,
        has_mask_input: Tensor,
        orig_im_size: Tensor,
    ) -> tuple[Tensor, Tensor, Tensor]:
        sparse = self.embed_points(point_coords, point_labels)
        dense = self.embed_masks(mask_input, has_mask_input)
        masks, scores = self.decode(image_embeddings, sparse, dense)
        if self.use_stability_score:
            scores = stability_score(masks, self.mask_threshold, self.stability_score_offset)
        if self.return_single_mask:
            masks, scores = self.select_masks(masks, scores, point_coords.shape[1])
        return self.mask_postprocessing(masks, orig_im_size), scores, masks


CACHE_INPUTS = ("keys", "key_pe", "tti_k", "tti_v", "itt_q")
"""Names (and order) of the per-image tensors of :meth:`MaskDecoder.image_cache` that
:class:`PromptDecoder` takes as inputs after ``point_coords`` and ``point_labels``."""


class PromptDecoder(_PromptAndDecoder):
    """Points (labels -1..3, boxes as corners 2/3) -> all four low-res logits and scores, on
    the cached image side of the first transformer layer (prompts without a mask input).

    inputs: point_coords (B, N, 2), point_labels (B, N) float32, then the ``CACHE_INPUTS``
    (keys, key_pe (1, 4096, 256), tti_k, tti_v (1, 4096, 128), itt_q (1, 8, 16, 4096)).
    outputs: low_res_masks (B, 4, 256, 256) and iou_predictions (B, 4) float32.
    """

    def __init__(self, model: Sam) -> None:
        super().__init__(model)
        self.grid = model.prompt_encoder.image_embedding_size

    @torch.no_grad()
    def forward(
        self,
        point_coords: Tensor,
        point_labels: Tensor,
        keys: Tensor,
        key_pe: Tensor,
        tti_k: Tensor,
        tti_v: Tensor,
        itt_q: Tensor,
    ) -> tuple[Tensor, Tensor]:
        sparse = self.embed_points(point_coords, point_labels)
        cache = {"keys": keys, "key_pe": key_pe, "tti_k": tti_k, "tti_v": tti_v, "itt_q": itt_q}
        hs, src = self.model.mask_decoder.transformer(None, None, self.tokens(sparse), cache=cache)
        h, w = self.grid
        masks, scores = self.heads(hs, src, h, w)
        return masks, scores


class MaskPromptDecoder(_PromptAndDecoder):
    """:class:`PromptDecoder` for prompts with a mask input (the whole transformer runs).

    inputs: point_coords (B, N, 2), point_labels (B, N), mask_input (B, 1, 256, 256) float32
    logits, image_embeddings (1, 256, 64, 64). outputs as :class:`PromptDecoder`.
    """

    @torch.no_grad()
    def forward(
        self,
        point_coords: Tensor,
        point_labels: Tensor,
        mask_input: Tensor,
        image_embeddings: Tensor,
    ) -> tuple[Tensor, Tensor]:
        sparse = self.embed_points(point_coords, point_labels)
        dense = self.model.prompt_encoder.mask_downscaling(mask_input)
        return self.decode(image_embeddings, sparse, dense)
