"""SAM's two-way transformer (tokens <-> image embedding), with SDPA attention.

The image side of the first layer depends only on the image when no mask prompt is given, so its
projections can be computed once per image (:meth:`TwoWayTransformer.image_cache`) and reused
for every click; queries may have batch B while such image tensors keep batch 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.modeling.common import MLPBlock


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

    # The decoder's cross attentions pair a few prompt tokens (Nt ~ 7) with 4096 image tokens.
    # Projecting every image token costs 4096 x C x internal per projection; folding the
    # projection weights into the token side instead costs 4096 x C x (heads * Nt), less than
    # half. Same mathematics, different summation order.

    def tokens_to_image(self, q: Tensor, k_img: Tensor, v_img: Tensor) -> Tensor:
        """Tokens attend to the image. q (B, Nt, C); k_img, v_img (B or 1, N, C) unprojected.

        scores_h = (q W_q + b_q)_h (x W_k + b_k)_h^T: the b_k term is constant along each row
        and cancels in the softmax. out_h = P_h (x W_v + b_v)_h = (P_h x) W_v,h + b_v,h since
        rows of P sum to one.
        """
        b, nt, c = q.shape
        nh = self.num_heads
        dh = self.internal_dim // nh
        qh = self.q_proj(q).view(b, nt, nh, dh)
        wk = self.k_proj.weight.view(nh, dh, c)
        a = torch.einsum("bnhd,hdc->bhnc", qh, wk).reshape(b, nh * nt, c)
        scores = (a @ k_img.transpose(1, 2)) * dh**-0.5  # (B, heads*Nt, N)
        px = scores.softmax(dim=-1) @ v_img  # (B, heads*Nt, C)
        wv = self.v_proj.weight.view(nh, dh, c)
        out = torch.einsum("bhnc,hdc->bnhd", px.view(b, nh, nt, c), wv)
        out = out.reshape(b, nt, self.internal_dim) + self.v_proj.bias
        return self.out_proj(out)

    def image_to_tokens(
        self,
        q_img: Tensor,
        k: Tensor,
        v: Tensor,
        q_projected: bool = False,
        residual: Tensor | None = None,
    ) -> Tensor:
        """The image attends to the tokens. q_img (B or 1, N, C) (or, with ``q_projected``, its
        q-projection laid out (B or 1, heads, dh, N));
        k, v (B, Nt, C) unprojected tokens. Returns (B, N, C), plus ``residual`` (B or 1, N, C)
        when given (added by the matmul itself: one pass over the image tokens fewer).

        scores_h = (x W_q + b_q)_h k_h^T = x (W_q,h^T k_h^T) + b_q,h k_h^T, and the output
        projection is folded into the values: out = sum_h P_h (v_h W_o,h^T) + b_o. Each P_h's
        weights over the tokens sum to one, so b_o / heads added to every row of the values
        adds b_o to every output row: the bias needs no pass of its own either.
        """
        b, nt, c = k.shape
        nh = self.num_heads
        dh = self.internal_dim // nh
        kh = self.k_proj(k).view(b, nt, nh, dh)
        vh = self.v_proj(v).view(b, nt, nh, dh)
        # Scores are laid out (B, heads, Nt, N): the softmax over the few tokens then runs along
        # a strided axis with N contiguous, which is far faster than a softmax over a last axis
        # of length Nt.
        if q_projected:  # q_img: (1 or B, heads, dh, N) from image_projections
            scores = kh.permute(0, 2, 1, 3) @ q_img  # (B, heads, Nt, N)
        else:
            wq = self.q_proj.weight.view(nh, dh, c)
            a = torch.einsum("bnhd,hdc->bhnc", kh, wq).reshape(b, nh * nt, c)
            bias = torch.einsum("bnhd,hd->bhn", kh, self.q_proj.bias.view(nh, dh))
            x_t = q_img.transpose(1, 2).expand(b, -1, -1)  # (B, C, N), a view
            scores = torch.baddbmm(bias.reshape(b, nh * nt, 1), a, x_t)
            scores = scores.view(b, nh, nt, -1)
        p = (scores * dh**-0.5).softmax(dim=2).view(b, nh * nt, -1)
        wo = self.out_proj.weight.view(c, nh, dh)
        vw = torch.einsum("bnhd,chd->bhnc", vh, wo).reshape(b, nh * nt, c)
        if residual is None:
            return torch.baddbmm(self.out_proj.bias.view(1, 1, c), p.transpose(1, 2), vw)
        vw = vw + self.out_proj.bias / nh
        return torch.baddbmm(residual, p.transpose(1, 2), vw)


def _heads_t(attn: Attention, x: Tensor) -> Tensor:
    """q-projection of image tokens (B, N, C) laid out (B, heads, dh, N) for ``image_to_tokens``."""
    q = attn.q_proj(x)
    b, n, _ = q.shape
    return q.view(b, n, attn.num_heads, -1).permute(0, 2, 3, 1).contiguous()


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
            "itt_q": _heads_t(self.cross_attn_image_to_token, k),
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

        q = queries + query_pe
        tti = self.cross_attn_token_to_image
        if proj is None:
            k_img = keys + key_pe
            queries = queries + tti.tokens_to_image(q, k_img, keys)
        else:
            queries = queries + tti.attend(tti.q_proj(q), proj["tti_k"], proj["tti_v"])
        queries = self.norm2(queries)
        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        itt = self.cross_attn_image_to_token
        if proj is None:
            keys = itt.image_to_tokens(k_img, q, queries, residual=keys)
        else:
            keys = itt.image_to_tokens(proj["itt_q"], q, queries, q_projected=True, residual=keys)
        return queries, self.norm4(keys)


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
        # contiguous once per image: every click reads them whole (residual, k + pe)
        keys = image_embedding.flatten(2).permute(0, 2, 1).contiguous()
        key_pe = image_pe.flatten(2).permute(0, 2, 1).contiguous()
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
        queries = queries + self.final_attn_token_to_image.tokens_to_image(q, k, keys)
        return self.norm_final_attn(queries), keys
