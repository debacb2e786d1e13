"""SAM's ViT image encoder (ViT-B/L/H): windowed + global attention with decomposed relative
positions, and a neck to 256 channels. Parameter names and shapes match the official checkpoints.

Attention runs through ``torch.nn.functional.scaled_dot_product_attention`` with the decomposed
relative-position term passed as an additive ``attn_mask``; global attention is computed a few
heads at a time so the (heads, N, N) bias never exists for all heads at once.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from annotator.engine.modeling.common import LayerNorm2d, MLPBlock
from annotator.engine.modeling.onednn import linear, linear_add

# Largest relative-position bias materialised at once. Global attention over 64x64 tokens needs
# (heads, 4096, 4096): 768 MiB for ViT-B (one piece), 1 GiB for ViT-L/H (two). The reference
# holds about three such tensors at once; small slices measured slower (per-call overhead).
_BIAS_BUDGET = 1 << 30


class ImageEncoderViT(nn.Module):
    """(B, 3, img_size, img_size) normalised image -> (B, out_chans, img_size/16, img_size/16)."""

    def __init__(
        self,
        img_size: int = 1024,
        patch_size: int = 16,
        in_chans: int = 3,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        out_chans: int = 256,
        window_size: int = 14,
        global_attn_indexes: tuple[int, ...] = (2, 5, 8, 11),
    ) -> None:
        super().__init__()
        self.img_size = img_size
        self.embed_dim = embed_dim
        self.depth = depth
        self.num_heads = num_heads
        self.global_attn_indexes = tuple(global_attn_indexes)
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        grid = img_size // patch_size
        self.pos_embed = nn.Parameter(torch.zeros(1, grid, grid, embed_dim))
        self.blocks = nn.ModuleList(
            Block(
                dim=embed_dim,
                num_heads=num_heads,
                mlp_ratio=mlp_ratio,
                window_size=0 if i in self.global_attn_indexes else window_size,
                input_size=(grid, grid),
            )
            for i in range(depth)
        )
        self.neck = nn.Sequential(
            nn.Conv2d(embed_dim, out_chans, kernel_size=1, bias=False),
            LayerNorm2d(out_chans),
            nn.Conv2d(out_chans, out_chans, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(out_chans),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.neck(x.permute(0, 3, 1, 2))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)  # B, H, W, C


class Block(nn.Module):
    """Pre-norm transformer block; ``window_size`` 0 means global attention."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float,
        window_size: int,
        input_size: tuple[int, int],
    ) -> None:
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6)
        self.norm1 = norm(dim)
        self.attn = Attention(
            dim, num_heads, input_size if window_size == 0 else (window_size, window_size)
        )
        self.norm2 = norm(dim)
        self.mlp = MLPBlock(dim, int(dim * mlp_ratio), nn.GELU)
        self.window_size = window_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.window_size > 0:
            h, w = x.shape[1], x.shape[2]
            x, pad_hw = window_partition(x, self.window_size)
            x = self.attn(x)
            x = shortcut + window_unpartition(x, self.window_size, pad_hw, (h, w))
        else:  # the residual sum is fused into the attention's projection
            x = self.attn(x, residual=shortcut)
        return self.mlp.forward_add(self.norm2(x), x)


class Attention(nn.Module):
    """Multi-head attention with decomposed relative position embeddings (MViTv2)."""

    def __init__(self, dim: int, num_heads: int, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim**-0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_h = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dim))
        self.rel_pos_w = nn.Parameter(torch.zeros(2 * input_size[1] - 1, head_dim))

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """(B, H, W, C) -> (B, H, W, C), plus ``residual`` (B, H, W, C) when given."""
        b, h, w, _ = x.shape
        n = h * w
        nh = self.num_heads
        qkv = linear(self.qkv, x).reshape(b, n, 3, nh, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # each (B, heads, N, head_dim)
        rh = get_rel_pos(h, h, self.rel_pos_h)  # (h, h, head_dim)
        rw = get_rel_pos(w, w, self.rel_pos_w)
        row_bytes = nh * w * n * q.element_size()  # bias for one row of queries, one image
        out = q.new_empty(q.shape)
        if b > 1:  # windows: a few windows at a time
            step = max(1, _BIAS_BUDGET // (row_bytes * h))
            for s in range(0, b, step):
                qs = q[s : s + step]
                bias = rel_pos_bias(qs, rh, rw, (h, w))
                out[s : s + step] = F.scaled_dot_product_attention(
                    qs, k[s : s + step], v[s : s + step], attn_mask=bias, scale=self.scale
                )
        else:  # global: a few rows of queries at a time against all keys
            k, v = k.contiguous(), v.contiguous()
            step = max(1, _BIAS_BUDGET // row_bytes)
            for y in range(0, h, step):
                qs = q[:, :, y * w : (y + step) * w]
                bias = rel_pos_bias(qs, rh[y : y + step], rw, (qs.shape[2] // w, w))
                out[:, :, y * w : (y + step) * w] = F.scaled_dot_product_attention(
                    qs, k, v, attn_mask=bias, scale=self.scale
                )
        out = out.permute(0, 2, 1, 3).reshape(b, h, w, -1)
        return linear(self.proj, out) if residual is None else linear_add(self.proj, out, residual)


def rel_pos_bias(
    q: torch.Tensor, rh: torch.Tensor, rw: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Additive bias (B, heads, Nq, h_k * w_k) equal to the reference ``add_decomposed_rel_pos``
    term for ``size`` = (rows, w) of queries. q: (B, heads, rows * w, C) unscaled queries;
    rh: (rows, h_k, C) for those rows; rw: (w, w_k, C).
    """
    b, nh, _, c = q.shape
    h, w = size
    kh, kw = rh.shape[1], rw.shape[1]
    r_q = q.reshape(b, nh, h, w, c)
    # Contiguous factors make the broadcast sum come out contiguous, so the final reshape is a
    # view (einsum's output layout would otherwise be inherited and force a copy of the bias).
    rel_h = torch.einsum("bnhwc,hkc->bnhwk", r_q, rh).contiguous()
    rel_w = torch.einsum("bnhwc,wkc->bnhwk", r_q, rw).contiguous()
    bias = rel_h[..., :, None] + rel_w[..., None, :]  # (B, heads, h, w, kh, kw)
    return bias.view(b, nh, h * w, kh * kw)


def get_rel_pos(q_size: int, k_size: int, rel_pos: torch.Tensor) -> torch.Tensor:
    """Relative position embeddings (q_size, k_size, C) for one axis, resized if needed."""
    max_rel_dist = int(2 * max(q_size, k_size) - 1)
    if rel_pos.shape[0] != max_rel_dist:
        rel_pos = (
            F.interpolate(
                rel_pos.reshape(1, rel_pos.shape[0], -1).permute(0, 2, 1),
                size=max_rel_dist,
                mode="linear",
            )
            .reshape(-1, max_rel_dist)
            .permute(1, 0)
        )
    q_coords = torch.arange(q_size)[:, None] * max(k_size / q_size, 1.0)
    k_coords = torch.arange(k_size)[None, :] * max(q_size / k_size, 1.0)
    relative_coords = (q_coords - k_coords) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[relative_coords.long().to(rel_pos.device)]


def window_partition(x: torch.Tensor, ws: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) -> (B * windows, ws, ws, C), zero-padding H and W up to multiples of ws."""
    b, h, w, c = x.shape
    pad_h = (ws - h % ws) % ws
    pad_w = (ws - w % ws) % ws
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // ws, ws, wp // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c), (hp, wp)


def window_unpartition(
    windows: torch.Tensor, ws: int, pad_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of :func:`window_partition`, dropping the padding."""
    hp, wp = pad_hw
    h, w = hw
    b = windows.shape[0] // (hp * wp // ws // ws)
    x = windows.view(b, hp // ws, wp // ws, ws, ws, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    if hp > h or wp > w:
        x = x[:, :h, :w, :].contiguous()
    return x
