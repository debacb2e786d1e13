"""SAM 2's Hiera trunk (hieradet): multi-scale blocks with windowed or global attention and
query pooling at each stage change. Key names match Meta's ``image_encoder.trunk``.

Feature maps are channels-last (B, H, W, C) inside the trunk; the outputs are (B, C, H, W).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.modeling.common import MLP
from annotator.engine.modeling.onednn import linear, linear_add


def window_partition(x: Tensor, window: int) -> tuple[Tensor, tuple[int, int]]:
    """(B, H, W, C) -> (B * nW, window, window, C), zero-padding H and W up to a multiple of
    ``window``; also returns the padded (Hp, Wp)."""
    b, h, w, c = x.shape
    ph, pw = (window - h % window) % window, (window - w % window) % window
    if ph or pw:
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
    hp, wp = h + ph, w + pw
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c), (hp, wp)


def window_unpartition(
    windows: Tensor, window: int, padded: tuple[int, int], size: tuple[int, int]
) -> Tensor:
    """Inverse of :func:`window_partition`: (B * nW, window, window, C) -> (B, H, W, C)."""
    hp, wp = padded
    h, w = size
    b = windows.shape[0] // (hp * wp // window // window)
    x = windows.reshape(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :] if (hp > h or wp > w) else x


def _pool(x: Tensor, pool: nn.Module | None) -> Tensor:
    """Max-pool a channels-last (B, H, W, C) map (identity without a pool)."""
    if pool is None:
        return x
    return pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _version_key(t: Tensor) -> tuple:
    try:
        version = t._version
    except RuntimeError:  # inference tensors have no version counter
        version = -1
    return (t.data_ptr(), version, t.device, t.dtype)


class PatchEmbed(nn.Module):
    """7x7 stride-4 convolution: (B, 3, H, W) -> (B, H/4, W/4, C)."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class MultiScaleAttention(nn.Module):
    """Attention over (B, H, W, C) tokens whose queries may be max-pooled (stage change)."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_pool: nn.Module | None) -> None:
        super().__init__()
        self.dim, self.dim_out, self.num_heads = dim, dim_out, num_heads
        self.q_pool = q_pool
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: Tensor, residual: Tensor | None = None) -> Tensor:
        """(B, H, W, dim) -> (B, H', W', dim_out); H' = H / stride with a query pool.
        ``residual`` (B, H', W', dim_out), when given, is added to the output."""
        b, h, w, _ = x.shape
        qkv = linear(self.qkv, x).reshape(b, h * w, 3, self.num_heads, -1)
        q, k, v = torch.unbind(qkv, 2)  # each (B, HW, heads, dh)
        if self.q_pool is not None:
            q = _pool(q.reshape(b, h, w, -1), self.q_pool)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, -1)
        out = F.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        )
        out = out.transpose(1, 2).reshape(b, h, w, -1)
        return linear(self.proj, out) if residual is None else linear_add(self.proj, out, residual)


class MultiScaleBlock(nn.Module):
    """Pre-norm block: (windowed) attention with optional query pooling, then an MLP."""

    def __init__(
        self,
        dim: int,
        dim_out: int,
        num_heads: int,
        q_stride: tuple[int, int] | None = None,
        window_size: int = 0,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.window_size = window_size
        self.q_stride = q_stride
        self.pool = nn.MaxPool2d(q_stride, q_stride, ceil_mode=False) if q_stride else None
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, q_pool=self.pool)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, int(dim_out * mlp_ratio), dim_out, 2, act=nn.GELU)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        """(B, H, W, dim) -> (B, H', W', dim_out)."""
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = _pool(linear(self.proj, x), self.pool)
        window = self.window_size
        h, w = x.shape[1:3]
        if window == 0:  # global attention: the residual sum is fused into the projection
            x = self.attn(x, residual=shortcut)
        else:
            x, padded = window_partition(x, window)
            x = self.attn(x)
            if self.q_stride:
                window = self.window_size // self.q_stride[0]
                h, w = shortcut.shape[1:3]
                padded = (h + (window - h % window) % window, w + (window - w % window) % window)
            x = shortcut + window_unpartition(x, window, padded, (h, w))
        return self.mlp.forward_add(self.norm2(x), x)


class Hiera(nn.Module):
    """The hierarchical trunk: (B, 3, 1024, 1024) -> four maps (B, C_i, 256/2^i, 256/2^i),
    finest first, C_i = embed_dim * 2^i.

    ``stages``: blocks per stage; ``global_att_blocks``: blocks with global attention (the
    others attend within windows of ``window_spec[stage]``; the first block of a stage still
    uses the previous stage's window and pools its queries 2x2).
    """

    def __init__(
        self,
        embed_dim: int = 96,
        num_heads: int = 1,
        stages: tuple[int, ...] = (2, 3, 16, 3),
        global_att_blocks: tuple[int, ...] = (12, 16, 20),
        window_pos_embed_bkg_spatial_size: tuple[int, int] = (14, 14),
        window_spec: tuple[int, ...] = (8, 4, 14, 7),
        q_pool: int = 3,
    ) -> None:
        super().__init__()
        self.window_spec = tuple(window_spec)
        self.stage_ends = [sum(stages[:i]) - 1 for i in range(1, len(stages) + 1)]
        pool_blocks = [e + 1 for e in self.stage_ends[:-1]][:q_pool]
        self.global_att_blocks = tuple(global_att_blocks)
        self.patch_embed = PatchEmbed(embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *window_pos_embed_bkg_spatial_size))
        w0 = self.window_spec[0]
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, w0, w0))
        self.blocks = nn.ModuleList()
        stage = 0
        for i in range(sum(stages)):
            dim_out = embed_dim
            window = 0 if i in self.global_att_blocks else self.window_spec[stage]
            if i - 1 in self.stage_ends:
                dim_out, num_heads, stage = embed_dim * 2, num_heads * 2, stage + 1
            self.blocks.append(
                MultiScaleBlock(
                    embed_dim,
                    dim_out,
                    num_heads,
                    q_stride=(2, 2) if i in pool_blocks else None,
                    window_size=window,
                )
            )
            embed_dim = dim_out
        self.channel_list = [self.blocks[i].dim_out for i in self.stage_ends[::-1]]

    def _pos_embed(self, hw: tuple[int, int]) -> Tensor:
        """(1, H, W, C): the background embedding resized bicubically plus the tiled window one;
        cached, since it depends on the weights and the grid size only."""
        key = tuple(_version_key(p) for p in (self.pos_embed, self.pos_embed_window)) + hw
        key += (torch.is_grad_enabled(), torch.is_inference_mode_enabled())
        cached = getattr(self, "_pos_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        pos = F.interpolate(self.pos_embed, size=hw, mode="bicubic")
        win = self.pos_embed_window
        pos = pos + win.tile([a // b for a, b in zip(pos.shape, win.shape, strict=True)])
        pos = pos.permute(0, 2, 3, 1)
        self._pos_cache = (key, pos)
        return pos

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.patch_embed(x)
        x = x + self._pos_embed(tuple(x.shape[1:3]))
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs
