"""SAM's prompt encoder: points, boxes and low-res masks -> sparse and dense embeddings.

Coordinates are in model-input pixels (the resized, unpadded image; see ``transforms``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from annotator.engine.modeling.common import LayerNorm2d


class PositionEmbeddingRandom(nn.Module):
    """Fourier features of xy with a fixed random Gaussian frequency matrix."""

    def __init__(self, num_pos_feats: int = 64) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))

    def _pe_encoding(self, coords: torch.Tensor) -> torch.Tensor:
        # Always float32: sin/cos of large arguments lose their meaning in half precision.
        coords = 2 * coords.float() - 1
        coords = coords @ self.positional_encoding_gaussian_matrix.float()
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: tuple[int, int]) -> torch.Tensor:
        """Dense encoding of an (h, w) grid of pixel centres -> (C, h, w)."""
        h, w = size
        matrix = self.positional_encoding_gaussian_matrix
        grid = torch.ones((h, w), device=matrix.device, dtype=torch.float32)
        y_embed = (grid.cumsum(dim=0) - 0.5) / h
        x_embed = (grid.cumsum(dim=1) - 0.5) / w
        return self._pe_encoding(torch.stack([x_embed, y_embed], dim=-1)).permute(2, 0, 1)

    def forward_with_coords(
        self, coords_input: torch.Tensor, image_size: tuple[int, int]
    ) -> torch.Tensor:
        """(B, N, 2) xy pixels in an (H, W) image -> (B, N, C)."""
        scale = coords_input.new_tensor([1.0 / image_size[1], 1.0 / image_size[0]])
        return self._pe_encoding(coords_input.float() * scale.float())


class PromptEncoder(nn.Module):
    def __init__(
        self,
        embed_dim: int = 256,
        image_embedding_size: tuple[int, int] = (64, 64),
        input_image_size: tuple[int, int] = (1024, 1024),
        mask_in_chans: int = 16,
    ) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.input_image_size = input_image_size
        self.image_embedding_size = image_embedding_size
        self.pe_layer = PositionEmbeddingRandom(embed_dim // 2)
        self.num_point_embeddings = 4  # negative point, positive point, box corner 1, corner 2
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_input_size = (4 * image_embedding_size[0], 4 * image_embedding_size[1])
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)
        self._dense_pe_cache: tuple[tuple, torch.Tensor] | None = None
        self._register_load_state_dict_pre_hook(self._drop_cache)

    def _drop_cache(self, *args: object, **kwargs: object) -> None:
        self._dense_pe_cache = None

    def get_dense_pe(self) -> torch.Tensor:
        """(1, C, h, w) positional encoding of the embedding grid; cached (weights only)."""
        matrix = self.pe_layer.positional_encoding_gaussian_matrix
        try:
            version = matrix._version
        except RuntimeError:  # inference tensors (loaded under torch.inference_mode) have none
            version = -1
        key = (matrix.data_ptr(), version, matrix.device, matrix.dtype)
        if self._dense_pe_cache is None or self._dense_pe_cache[0] != key:
            pe = self.pe_layer(self.image_embedding_size).unsqueeze(0)
            self._dense_pe_cache = (key, pe.to(self.no_mask_embed.weight.dtype))
        return self._dense_pe_cache[1]

    def _embed_points(self, points: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        points = points + 0.5  # centre of the pixel
        if pad:
            points = torch.cat([points, points.new_zeros((points.shape[0], 1, 2))], dim=1)
            labels = torch.cat([labels, -labels.new_ones((labels.shape[0], 1))], dim=1)
        emb = self.pe_layer.forward_with_coords(points, self.input_image_size)
        labels = labels[..., None]
        emb = torch.where(labels == -1, self.not_a_point_embed.weight, emb)
        emb = emb + torch.where(labels == 0, self.point_embeddings[0].weight, 0.0)
        return emb + torch.where(labels == 1, self.point_embeddings[1].weight, 0.0)

    def _embed_boxes(self, boxes: torch.Tensor) -> torch.Tensor:
        coords = (boxes + 0.5).reshape(-1, 2, 2)
        emb = self.pe_layer.forward_with_coords(coords, self.input_image_size)
        corners = torch.cat([self.point_embeddings[2].weight, self.point_embeddings[3].weight])
        return emb + corners

    def _get_batch_size(self, points, boxes, masks) -> int:
        if points is not None:
            return points[0].shape[0]
        if boxes is not None:
            return boxes.shape[0]
        if masks is not None:
            return masks.shape[0]
        return 1

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """points ((B, N, 2) xy, (B, N) labels), boxes (B, 4) XYXY, masks (B, 1, 256, 256) logits.

        Returns sparse (B, N', C) and dense (B, C, h, w) embeddings. Without masks the dense
        embedding is the no-mask vector broadcast (an expanded view, no copy).
        """
        bs = self._get_batch_size(points, boxes, masks)
        weight = self.no_mask_embed.weight
        parts = []
        if points is not None:
            parts.append(self._embed_points(points[0], points[1], pad=boxes is None))
        if boxes is not None:
            parts.append(self._embed_boxes(boxes))
        if parts:
            sparse = (parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)).to(weight.dtype)
        else:
            sparse = weight.new_empty((bs, 0, self.embed_dim))
        if masks is not None:
            dense = self.mask_downscaling(masks.to(weight.dtype))
        else:
            h, w = self.image_embedding_size
            dense = weight.reshape(1, -1, 1, 1).expand(bs, -1, h, w)
        return sparse, dense
