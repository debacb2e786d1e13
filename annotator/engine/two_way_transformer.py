"""SAM's two-way transformer (tokens <-> image embedding), with SDPA attention.

The image side of the first layer depends only on the image when no mask prompt is given, so its
projections can be computed once per image (:meth:`TwoWayTransformer.image_cache`) and reused
for every click; queries may have batch B while such image tensors keep batch 1.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .common import MLPBlock


class Attention(nn.Module):
    """Multi-head attention whose projections may downscale the channel dimension."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.v_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

    def attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Projected (B or 1, N, internal) tensors -> (B, Nq, embedding_dim); batch 1 broadcasts."""
        b = max(q.shape[0], k.shape[0], v.shape[0])
        nh = self.num_heads

        def heads(x: Tensor) -> Tensor:
            x = x.reshape(x.shape[0], x.shape[1], nh, -1).transpose(1, 2)
            return x.expand(b, -1, -1, -1) if x.shape[0] != b else x

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        out = out.transpose(1, 2).reshape(b, -1, self.internal_dim)
        return self.out_proj(out)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        return self.attend(self.q_proj(q), self.k_proj(k), self.v_proj(v))


class TwoWayAttentionBlock(nn.Module):
    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        mlp_dim: int = 2048,
        attention_downsample_rate: int = 2,
        skip_first_layer_pe: bool = False,
    ) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = MLPBlock(embedding_dim, mlp_dim, nn.ReLU)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.skip_first_layer_pe = skip_first_layer_pe

    def image_projections(self, keys: Tensor, key_pe: Tensor) -> dict[str, Tensor]:
        """The projections of this block that depend on ``keys`` as they enter it."""
        k = keys + key_pe
        return {
            "tti_k": self.cross_attn_token_to_image.k_proj(k),
            "tti_v": self.cross_attn_token_to_image.v_proj(keys),
            "itt_q": self.cross_attn_image_to_token.q_proj(k),
        }

    def forward(
        self,
        queries: Tensor,
        keys: Tensor,
        query_pe: Tensor,
        key_pe: Tensor,
        proj: dict[str, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        if self.skip_first_layer_pe:
            queries = self.self_attn(q=queries, k=queries, v=queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q=q, k=q, v=queries)
        queries = self.norm1(queries)

        if proj is None:
            proj = self.image_projections(keys, key_pe)
        q = queries + query_pe
        tti = self.cross_attn_token_to_image
        queries = queries + tti.attend(tti.q_proj(q), proj["tti_k"], proj["tti_v"])
        queries = self.norm2(queries)
        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        itt = self.cross_attn_image_to_token
        attn_out = itt.attend(proj["itt_q"], itt.k_proj(q), itt.v_proj(queries))
        keys = self.norm4(keys + attn_out)
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(
        self,
        depth: int = 2,
        embedding_dim: int = 256,
        num_heads: int = 8,
        mlp_dim: int = 2048,
        attention_downsample_rate: int = 2,
    ) -> None:
        super().__init__()
        self.depth = depth
        self.embedding_dim = embedding_dim
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(
                embedding_dim,
                num_heads,
                mlp_dim,
                attention_downsample_rate,
                skip_first_layer_pe=(i == 0),
            )
            for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(
            embedding_dim, num_heads, downsample_rate=attention_downsample_rate
        )
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def image_cache(self, image_embedding: Tensor, image_pe: Tensor) -> dict[str, Tensor]:
        """Everything the first layer computes from (1, C, h, w) image inputs alone."""
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        return {"keys": keys, "key_pe": key_pe, **self.layers[0].image_projections(keys, key_pe)}

    def forward(
        self,
        image_embedding: Tensor | None,
        image_pe: Tensor | None,
        point_embedding: Tensor,
        cache: dict[str, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """image_embedding (B or 1, C, h, w), image_pe (1, C, h, w), point_embedding (B, N, C).

        Returns processed tokens (B, N, C) and image keys (B, h*w, C). With ``cache`` (from
        :meth:`image_cache`) the image inputs are taken from it and may be None.
        """
        if cache is None:
            assert image_embedding is not None and image_pe is not None
            keys = image_embedding.flatten(2).permute(0, 2, 1)
            key_pe = image_pe.flatten(2).permute(0, 2, 1)
            first_proj = None
        else:
            keys, key_pe = cache["keys"], cache["key_pe"]
            first_proj = cache
        queries = point_embedding
        for i, layer in enumerate(self.layers):
            queries, keys = layer(
                queries, keys, point_embedding, key_pe, proj=first_proj if i == 0 else None
            )
        q = queries + point_embedding
        k = keys + key_pe
        queries = queries + self.final_attn_token_to_image(q=q, k=k, v=keys)
        return self.norm_final_attn(queries), keys
