"""SAM 2's memory modules (``memory_attention``, ``memory_encoder``), key for key as Meta's.

Memory attention conditions a frame's (B, h*w, 256) features on the memory bank: 4 layers of
RoPE self-attention, cross-attention to the memories (64-channel keys/values: past frames'
encoded masks, RoPE'd frame by frame, then the object pointers, not RoPE'd) and a ReLU MLP,
pre-norm, as Meta's ``MemoryAttentionLayer`` with the SAM 2.1 config (positions added to the
cross-attention keys only, 0.1 x the frame's positions added at the input). The memory
encoder fuses the frame's features with a mask into a (B, 64, h, w) memory.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.modeling.common import LayerNorm2d
from annotator.engine.modeling.onednn import linear, linear_add, linear_gelu, linear_relu

from .image_encoder import PositionEmbeddingSine
from .rope import AxialRope


class MemoryAttentionProjections(nn.Module):
    """q/k/v/out projections of one (RoPE) attention; k and v may read ``kv_in_dim`` channels."""

    def __init__(
        self, embedding_dim: int, num_heads: int, kv_in_dim: int | None = None, rope_k_repeat=False
    ) -> None:
        super().__init__()
        kv = kv_in_dim or embedding_dim
        self.num_heads = num_heads
        self.rope_k_repeat = rope_k_repeat
        self.q_proj = nn.Linear(embedding_dim, embedding_dim)
        self.k_proj = nn.Linear(kv, embedding_dim)
        self.v_proj = nn.Linear(kv, embedding_dim)
        self.out_proj = nn.Linear(embedding_dim, embedding_dim)
        self.rope = AxialRope(embedding_dim // num_heads)

    def forward(
        self,
        q: Tensor,
        k: Tensor,
        v: Tensor,
        grid_tokens: int,
        num_k_exclude_rope: int = 0,
        residual: Tensor | None = None,
    ) -> Tensor:
        """q (B, Nq, C); k, v (B, Nk, C_kv) -> (B, Nq, C), plus ``residual`` (B, Nq, C) when
        given. q and the first Nk - ``num_k_exclude_rope`` keys (whole frames of
        ``grid_tokens``) get RoPE."""
        q, k, v = linear(self.q_proj, q), linear(self.k_proj, k), linear(self.v_proj, v)
        q = self.rope.rotate(q, grid_tokens)
        n_rope = k.shape[1] - num_k_exclude_rope
        if n_rope > 0:
            k_rope = self.rope.rotate(k[:, :n_rope], grid_tokens)
            k = torch.cat([k_rope, k[:, n_rope:]], dim=1) if num_k_exclude_rope else k_rope
        nh = self.num_heads

        def heads(x: Tensor) -> Tensor:
            return x.view(x.shape[0], x.shape[1], nh, -1).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(q), heads(k), heads(v))
        out = out.transpose(1, 2).reshape(q.shape[0], q.shape[1], -1)
        if residual is None:
            return linear(self.out_proj, out)
        return linear_add(self.out_proj, out, residual)


class MemoryAttentionLayer(nn.Module):
    """Self-attention, cross-attention to memories (64-channel keys/values), feed-forward."""

    def __init__(self, d_model: int = 256, dim_feedforward: int = 2048, mem_dim: int = 64):
        super().__init__()
        self.self_attn = MemoryAttentionProjections(d_model, 1)
        self.cross_attn_image = MemoryAttentionProjections(
            d_model, 1, kv_in_dim=mem_dim, rope_k_repeat=True
        )
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(self, tgt: Tensor, memory: Tensor, pos: Tensor, num_ptr_tokens: int) -> Tensor:
        n = tgt.shape[1]
        # The residual sums and the ReLU ride in the linear layers (onednn.py): the MLP's
        # (4096, 2048) hidden map made the separate passes cost as much as its matmuls.
        x = self.norm1(tgt)
        tgt = self.self_attn(x, x, x, n, residual=tgt)
        x = self.norm2(tgt)
        tgt = self.cross_attn_image(x, memory + pos, memory, n, num_ptr_tokens, residual=tgt)
        return linear_add(self.linear2, linear_relu(self.linear1, self.norm3(tgt)), tgt)


class MemoryAttention(nn.Module):
    """``num_layers`` memory-attention layers and a final LayerNorm."""

    def __init__(self, d_model: int = 256, num_layers: int = 4) -> None:
        super().__init__()
        self.d_model = d_model
        self.layers = nn.ModuleList(MemoryAttentionLayer(d_model) for _ in range(num_layers))
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        curr: Tensor,
        curr_pos: Tensor,
        memory: Tensor,
        memory_pos: Tensor,
        num_ptr_tokens: int,
    ) -> Tensor:
        """curr (B, h*w, C) frame features, curr_pos (B or 1, h*w, C); memory / memory_pos
        (B, M, 64) with the last ``num_ptr_tokens`` rows object pointers -> (B, h*w, C)."""
        out = curr + 0.1 * curr_pos
        for layer in self.layers:
            out = layer(out, memory, memory_pos, num_ptr_tokens)
        return self.norm(out)


class MaskDownSampler(nn.Module):
    """(B, 1, 1024, 1024) mask -> (B, 256, 64, 64): four 3x3 stride-2 convs with LayerNorm2d
    and GELU (channels 4, 16, 64, 256), then a 1x1 conv (``encoder.i`` keys)."""

    def __init__(self, embed_dim: int = 256, stride: int = 2, total_stride: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 1
        n = 0
        while stride ** (n + 1) <= total_stride:
            cout = cin * stride**2
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), LayerNorm2d(cout), nn.GELU()]
            cin, n = cout, n + 1
        layers.append(nn.Conv2d(cin, embed_dim, kernel_size=1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)


class CXBlock(nn.Module):
    """ConvNeXt block: 7x7 depthwise conv, LayerNorm2d, MLP x4 with GELU, layer scale, residual."""

    def __init__(self, dim: int = 256, kernel_size: int = 7, padding: int = 3) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=padding, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)  # then an exact GELU, fused into it
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        y = self.gamma * self.pwconv2(linear_gelu(self.pwconv1, y))
        return x + y.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    def __init__(self, dim: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CXBlock(dim) for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    """(B, 256, 64, 64) pixel features + (B, 1, 1024, 1024) mask logits -> memory features
    (B, 64, 64, 64) and their position encoding (B, 64, 64, 64)."""

    def __init__(self, out_dim: int = 64, in_dim: int = 256) -> None:
        super().__init__()
        self.mask_downsampler = MaskDownSampler(in_dim)
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = Fuser(in_dim, 2)
        self.position_encoding = PositionEmbeddingSine(out_dim)
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1)

    def forward(
        self, pix_feat: Tensor, masks: Tensor, skip_mask_sigmoid: bool = False
    ) -> tuple[Tensor, Tensor]:
        if not skip_mask_sigmoid:
            masks = F.sigmoid(masks)
        x = self.pix_feat_proj(pix_feat) + self.mask_downsampler(masks)
        x = self.out_proj(self.fuser(x))
        return x, self.position_encoding(x).to(x.dtype)
