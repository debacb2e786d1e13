"""TinyViT image encoder for MobileSAM (``vit_t``, 1024 px) and LiteMedSAM (256 px).

Both use embed dims 64/128/160/320, depths 2/2/6/2, heads 2/4/5/10, windows 7/7/14/7 and end in a
64x64x256 embedding. They differ in the stem: MobileSAM has two 3x3 stride-2 convs (1024 -> 256),
LiteMedSAM two 1x1 stride-1 convs (256 -> 256). MobileSAM's checkpoint also carries an unused
classification head (``norm_head``, ``head``), kept here so the official file loads strictly.
Parameter names and shapes match MobileSAM's ``tiny_vit_sam.py``.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from annotator.engine.modeling.common import LayerNorm2d
from annotator.engine.modeling.onednn import fusable, linear, linear_add, linear_gelu

EMBED_DIMS = (64, 128, 160, 320)
DEPTHS = (2, 2, 6, 2)
NUM_HEADS = (2, 4, 5, 10)
WINDOW_SIZES = (7, 7, 14, 7)


class Conv2d_BN(nn.Sequential):
    """Conv without bias followed by BatchNorm; in eval mode both run as one fused conv."""

    def __init__(
        self, a: int, b: int, ks: int = 1, stride: int = 1, pad: int = 0, groups: int = 1
    ) -> None:
        super().__init__()
        self.add_module("c", nn.Conv2d(a, b, ks, stride, pad, 1, groups, bias=False))
        self.add_module("bn", nn.BatchNorm2d(b))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        weight, bias = self._folded()
        c = self.c
        return F.conv2d(x, weight, bias, c.stride, c.padding, c.dilation, c.groups)

    def _folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The conv's weight and bias with BN folded in (saves a full pass over the output)."""
        c, bn = self.c, self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        return c.weight * scale[:, None, None, None], bn.bias - bn.running_mean * scale

    def conv_gelu(self, x: torch.Tensor) -> torch.Tensor:
        """``gelu(self(x))``; in CPU inference one oneDNN conv with GELU fused into its output
        (the same op torch.compile fuses to): the GELU's own pass over these large activations
        cost as much as the conv (measured 1x1 64->256 at 256x256, bf16: 66 -> 40 ms)."""
        if self.training or not fusable(x):
            return F.gelu(self(x))
        weight, bias = self._folded()
        c = self.c
        return torch.ops.mkldnn._convolution_pointwise(
            x, weight, bias, c.padding, c.stride, c.dilation, c.groups, "gelu", [], "none"
        )


class PatchEmbed(nn.Module):
    def __init__(self, in_chans: int, embed_dim: int, stem_stride: int) -> None:
        super().__init__()
        n = embed_dim
        if stem_stride == 4:  # MobileSAM
            self.seq = nn.Sequential(
                Conv2d_BN(in_chans, n // 2, 3, 2, 1), nn.GELU(), Conv2d_BN(n // 2, n, 3, 2, 1)
            )
        else:  # LiteMedSAM
            self.seq = nn.Sequential(
                Conv2d_BN(in_chans, n // 2, 1, 1, 0), nn.GELU(), Conv2d_BN(n // 2, n, 1, 1, 0)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq[2](self.seq[0].conv_gelu(x))


class MBConv(nn.Module):
    def __init__(self, chans: int, expand_ratio: float) -> None:
        super().__init__()
        hidden = int(chans * expand_ratio)
        self.conv1 = Conv2d_BN(chans, hidden, ks=1)
        self.act1 = nn.GELU()
        self.conv2 = Conv2d_BN(hidden, hidden, ks=3, stride=1, pad=1, groups=hidden)
        self.act2 = nn.GELU()
        self.conv3 = Conv2d_BN(hidden, chans, ks=1)
        self.act3 = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2.conv_gelu(self.conv1.conv_gelu(x))  # act1, act2 fused into the convs
        return self.act3(self.conv3(y) + x)


class PatchMerging(nn.Module):
    def __init__(self, input_resolution: tuple[int, int], dim: int, out_dim: int) -> None:
        super().__init__()
        self.input_resolution = input_resolution
        self.act = nn.GELU()
        self.conv1 = Conv2d_BN(dim, out_dim, 1, 1, 0)
        # The last stage keeps the resolution (upstream: out_dim in {320, 448, 576}).
        stride = 1 if out_dim in (320, 448, 576) else 2
        self.conv2 = Conv2d_BN(out_dim, out_dim, 3, stride, 1, groups=out_dim)
        self.conv3 = Conv2d_BN(out_dim, out_dim, 1, 1, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            h, w = self.input_resolution
            x = x.view(len(x), h, w, -1).permute(0, 3, 1, 2)
        x = self.conv2.conv_gelu(self.conv1.conv_gelu(x))  # self.act fused into the convs
        x = self.conv3(x)
        return x.flatten(2).transpose(1, 2)


class ConvLayer(nn.Module):
    def __init__(
        self, dim: int, input_resolution: tuple[int, int], depth: int, out_dim: int
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(MBConv(dim, 4.0) for _ in range(depth))
        self.downsample = PatchMerging(input_resolution, dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x)


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(x))))

    def forward_add(self, x: torch.Tensor) -> torch.Tensor:
        """``x + self(x)``, with the GELU and the sum fused into the linear layers on a CPU."""
        return linear_add(self.fc2, linear_gelu(self.fc1, self.norm(x)), x)


def _offset_index(resolution: tuple[int, int]) -> tuple[torch.Tensor, dict]:
    """(N, N) index of each (|dy|, |dx|) offset between window positions, in upstream order."""
    points = list(itertools.product(range(resolution[0]), range(resolution[1])))
    offsets: dict[tuple[int, int], int] = {}
    idxs = []
    for p1 in points:
        for p2 in points:
            off = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
            idxs.append(offsets.setdefault(off, len(offsets)))
    n = len(points)
    return torch.tensor(idxs, dtype=torch.long, device="cpu").view(n, n), offsets


class Attention(nn.Module):
    """Window attention with a learned bias per (|dy|, |dx|) offset (LeViT style)."""

    def __init__(self, dim: int, key_dim: int, num_heads: int, resolution: tuple[int, int]):
        super().__init__()
        self.num_heads = num_heads
        self.scale = key_dim**-0.5
        self.key_dim = key_dim
        self.dh = key_dim * num_heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, self.dh * 3)
        self.proj = nn.Linear(self.dh, dim)
        self.resolution = resolution
        n_offsets = len(_offset_index(resolution)[1])
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, n_offsets))
        self.make_buffers()

    def make_buffers(self) -> None:
        """(Re)create the offset index buffer (needed after building on the meta device)."""
        device = self.attention_biases.device
        if device.type == "meta":
            device = torch.device("cpu")
        idxs, _ = _offset_index(self.resolution)
        self.register_buffer("attention_bias_idxs", idxs.to(device), persistent=False)

    def _bias(self, dtype: torch.dtype) -> torch.Tensor:
        """(1, heads, N, N) bias of every window position pair, gathered once per weights in
        inference (a 4-D mask keeps SDPA on its fused kernel; a 3-D one falls back to the
        slow math path)."""
        table = self.attention_biases
        if torch.is_grad_enabled() or table.is_inference():
            # (an inference tensor has no version counter to tell an in-place update by)
            return table[:, self.attention_bias_idxs].to(dtype)[None]
        key = (table.data_ptr(), table._version, dtype, table.device)
        cached = self.__dict__.get("_bias_cache")
        if cached is None or cached[0] != key:
            cached = (key, table[:, self.attention_bias_idxs].to(dtype)[None])
            self.__dict__["_bias_cache"] = cached
        return cached[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C)
        b, n, _ = x.shape
        qkv = linear(self.qkv, self.norm(x)).view(b, n, self.num_heads, -1)
        q, k, v = qkv.permute(0, 2, 1, 3).split([self.key_dim] * 3, dim=3)
        bias = self._bias(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=self.scale)
        return linear(self.proj, out.transpose(1, 2).reshape(b, n, self.dh))


class TinyViTBlock(nn.Module):
    def __init__(
        self, dim: int, input_resolution: tuple[int, int], num_heads: int, window_size: int
    ) -> None:
        super().__init__()
        self.input_resolution = input_resolution
        self.window_size = window_size
        self.attn = Attention(dim, dim // num_heads, num_heads, (window_size, window_size))
        self.mlp = Mlp(dim, dim * 4)
        self.local_conv = Conv2d_BN(dim, dim, ks=3, stride=1, pad=1, groups=dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = self.input_resolution
        b, n, c = x.shape
        ws = self.window_size
        res_x = x
        if h == ws and w == ws:
            x = self.attn(x)
        else:
            x = x.view(b, h, w, c)
            pad_b = (ws - h % ws) % ws
            pad_r = (ws - w % ws) % ws
            if pad_b or pad_r:
                x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
            ph, pw = h + pad_b, w + pad_r
            nh, nw = ph // ws, pw // ws
            x = x.view(b, nh, ws, nw, ws, c).transpose(2, 3).reshape(b * nh * nw, ws * ws, c)
            x = self.attn(x)
            x = x.view(b, nh, nw, ws, ws, c).transpose(2, 3).reshape(b, ph, pw, c)
            if pad_b or pad_r:
                x = x[:, :h, :w].contiguous()
            x = x.view(b, n, c)
        x = res_x + x
        # The depthwise conv on a channels-last view: no copy in and out, and oneDNN's
        # channels-last depthwise kernel (a contiguous NCHW one ran ~10x slower in bf16).
        x = self.local_conv(x.view(b, h, w, c).permute(0, 3, 1, 2))
        x = x.permute(0, 2, 3, 1).reshape(b, n, c)
        return self.mlp.forward_add(x)


class BasicLayer(nn.Module):
    def __init__(
        self,
        dim: int,
        input_resolution: tuple[int, int],
        depth: int,
        num_heads: int,
        window_size: int,
        out_dim: int | None,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TinyViTBlock(dim, input_resolution, num_heads, window_size) for _ in range(depth)
        )
        self.downsample = (
            PatchMerging(input_resolution, dim, out_dim) if out_dim is not None else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class TinyViT(nn.Module):
    """(B, 3, img_size, img_size) normalised image -> (B, 256, 64, 64) embedding.

    ``stem_stride`` 4 with ``img_size`` 1024 is MobileSAM; 1 with 256 is LiteMedSAM.
    ``classifier_head`` adds MobileSAM's unused ``norm_head``/``head`` parameters.
    """

    def __init__(
        self,
        img_size: int = 1024,
        stem_stride: int = 4,
        classifier_head: bool = True,
        in_chans: int = 3,
    ) -> None:
        super().__init__()
        self.img_size = img_size
        self.patch_embed = PatchEmbed(in_chans, EMBED_DIMS[0], stem_stride)
        res = img_size // stem_stride
        self.layers = nn.ModuleList()
        for i in range(len(DEPTHS)):
            r = res // (2 ** (i - 1 if i == 3 else i))
            out_dim = EMBED_DIMS[min(i + 1, len(EMBED_DIMS) - 1)] if i < len(DEPTHS) - 1 else None
            if i == 0:
                layer: nn.Module = ConvLayer(EMBED_DIMS[0], (r, r), DEPTHS[0], out_dim or 0)
            else:
                layer = BasicLayer(
                    EMBED_DIMS[i], (r, r), DEPTHS[i], NUM_HEADS[i], WINDOW_SIZES[i], out_dim
                )
            self.layers.append(layer)
        self.out_resolution = res // 4
        if classifier_head:
            self.norm_head = nn.LayerNorm(EMBED_DIMS[-1])
            self.head = nn.Linear(EMBED_DIMS[-1], 1000)
        self.neck = nn.Sequential(
            nn.Conv2d(EMBED_DIMS[-1], 256, kernel_size=1, bias=False),
            LayerNorm2d(256),
            nn.Conv2d(256, 256, kernel_size=3, padding=1, bias=False),
            LayerNorm2d(256),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Channels-last makes the full-resolution MBConv stage (depthwise and 1x1 convs at
        # 256x256) about twice as fast on oneDNN, and PatchMerging's flatten a free view.
        x = self.patch_embed(x.contiguous(memory_format=torch.channels_last))
        for layer in self.layers:
            x = layer(x)
        b, _, c = x.shape
        r = self.out_resolution
        return self.neck(x.view(b, r, r, c).permute(0, 3, 1, 2))
