"""Low-res mask logits -> full-resolution logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample_logits(
    low_res: torch.Tensor,
    img_size: int,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
) -> torch.Tensor:
    """(B, C, h, w) float logits -> (B, C, H, W) logits at ``original_size`` (H, W).

    The reference upsamples to (img_size, img_size), crops to ``input_size`` (the resized image
    before padding) and resizes that to the original size, all bilinear.
    """
    x = low_res
    if x.shape[-2:] != (img_size, img_size):
        x = F.interpolate(x, (img_size, img_size), mode="bilinear", align_corners=False)
    x = x[..., : input_size[0], : input_size[1]]
    return F.interpolate(x, tuple(original_size), mode="bilinear", align_corners=False)
