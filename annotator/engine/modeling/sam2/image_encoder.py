"""SAM 2's image encoder: the Hiera trunk and the FPN neck (``image_encoder.trunk/neck``).

The neck projects the four trunk levels to 256 channels; only the two coarsest get top-down
features (nearest 2x upsampling), as the SAM 2.1 configs set ``fpn_top_down_levels: [2, 3]``.
``scalp=1`` drops the coarsest (stride 32) level from the outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .hiera import Hiera


class PositionEmbeddingSine(nn.Module):
    """Normalised sine/cosine encoding of a (B, C, H, W) map's grid -> (B, num_pos_feats, H, W).

    Used by the memory path (the video predictor); the image path does not need it.
    """

    def __init__(self, num_pos_feats: int, temperature: int = 10000) -> None:
        super().__init__()
        self.num_pos_feats = num_pos_feats // 2
        self.temperature = temperature
        self.scale = 2 * math.pi

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        dev = x.device
        y = torch.arange(1, h + 1, dtype=torch.float32, device=dev).view(1, -1, 1).repeat(b, 1, w)
        xx = torch.arange(1, w + 1, dtype=torch.float32, device=dev).view(1, 1, -1).repeat(b, h, 1)
        y = y / (y[:, -1:, :] + 1e-6) * self.scale
        xx = xx / (xx[:, :, -1:] + 1e-6) * self.scale
        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32, device=dev)
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.num_pos_feats)
        px, py = xx[..., None] / dim_t, y[..., None] / dim_t
        px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=4).flatten(3)
        py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=4).flatten(3)
        return torch.cat((py, px), dim=3).permute(0, 3, 1, 2)


class FpnNeck(nn.Module):
    """Lateral 1x1 convs (``convs.i.conv``, coarsest level first) with top-down sums."""

    def __init__(
        self,
        d_model: int,
        backbone_channel_list: list[int],
        fpn_top_down_levels: tuple[int, ...] = (2, 3),
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.backbone_channel_list = list(backbone_channel_list)
        self.convs = nn.ModuleList()
        for dim in backbone_channel_list:
            seq = nn.Sequential()
            seq.add_module("conv", nn.Conv2d(dim, d_model, kernel_size=1))
            self.convs.append(seq)
        self.fpn_top_down_levels = tuple(fpn_top_down_levels)
        self.position_encoding = PositionEmbeddingSine(d_model)

    def forward(self, xs: list[Tensor]) -> list[Tensor]:
        """Trunk maps (finest first) -> (B, d_model, H_i, W_i) maps, finest first."""
        n = len(self.convs) - 1
        out: list[Tensor | None] = [None] * len(self.convs)
        prev = None
        for i in range(n, -1, -1):
            lateral = self.convs[n - i](xs[i])
            if i in self.fpn_top_down_levels and prev is not None:
                # Nearest upsampling copies values: doing it in the model dtype is exact.
                top_down = F.interpolate(prev, scale_factor=2.0, mode="nearest")
                prev = lateral + top_down
            else:
                prev = lateral
            out[i] = prev
        return out  # type: ignore[return-value]


class ImageEncoder(nn.Module):
    """Trunk + neck: (B, 3, 1024, 1024) normalised -> [(B, 256, 256, 256), (B, 256, 128, 128),
    (B, 256, 64, 64)] (the coarsest level dropped by ``scalp``)."""

    img_size = 1024

    def __init__(self, trunk: Hiera, neck: FpnNeck, scalp: int = 1) -> None:
        super().__init__()
        if trunk.channel_list != neck.backbone_channel_list:
            raise ValueError(f"trunk channels {trunk.channel_list} != neck's")
        self.trunk = trunk
        self.neck = neck
        self.scalp = scalp

    def forward(self, x: Tensor) -> list[Tensor]:
        features = self.neck(self.trunk(x))
        return features[: -self.scalp] if self.scalp > 0 else features
