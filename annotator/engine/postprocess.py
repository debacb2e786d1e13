"""Low-res mask logits -> full-resolution logits or masks.

The reference upsamples the (256, 256) logits to (img_size, img_size), crops the padding away
(keeping ``input_size``) and resizes that to the original size, bilinear with half-pixel centres
both times, then thresholds at 0. On the CPU the same two resizes run through OpenCV
(``cv2.resize`` INTER_LINEAR uses the same sampling as ``F.interpolate(..., align_corners=False)``
and is several times faster); the first resize only covers the rows/columns the crop keeps.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def _needed(n_out: int, factor: int, n_in: int) -> int:
    """Low-res rows needed so that the first ``n_out`` rows of an exact ``factor``x bilinear
    upsample are unchanged (one extra source row for the last output's right neighbour)."""
    return min(n_in, math.ceil(n_out / factor) + 1)


def upsample_logits(
    low_res: torch.Tensor,
    img_size: int,
    input_size: tuple[int, int],
    original_size: tuple[int, int],
    threshold: float | None = None,
) -> torch.Tensor:
    """(B, C, h, w) float32 logits -> (B, C, H, W) at ``original_size`` (H, W): float32 logits,
    or bool masks ``logits > threshold`` when a threshold is given.

    ``input_size`` is (h, w) of the resized image inside the padded ``img_size`` square.
    """
    b, c, h, w = low_res.shape
    ih, iw = int(input_size[0]), int(input_size[1])
    oh, ow = int(original_size[0]), int(original_size[1])
    if low_res.device.type == "cpu" and low_res.dtype == torch.float32:
        # Plane by plane, thresholded while the plane is hot in cache; numpy's comparison is
        # also an order of magnitude faster than torch's on these CPUs.
        out = np.empty((b, c, oh, ow), np.float32 if threshold is None else np.bool_)
        src = low_res.numpy()
        for i in range(b):
            for j in range(c):
                plane = _upsample_plane(src[i, j], img_size, (ih, iw), (oh, ow))
                if threshold is None:
                    out[i, j] = plane
                else:
                    np.greater(plane, threshold, out=out[i, j])
        return torch.from_numpy(out)
    x = low_res
    if (h, w) != (img_size, img_size):
        factor = img_size // h
        x = F.interpolate(
            x[..., : _needed(ih, factor, h), : _needed(iw, factor, w)],
            scale_factor=factor,
            mode="bilinear",
            align_corners=False,
            recompute_scale_factor=False,
        )
    x = x[..., :ih, :iw]
    x = F.interpolate(x, (oh, ow), mode="bilinear", align_corners=False)
    return x if threshold is None else x > threshold


def _upsample_plane(
    plane: np.ndarray, img_size: int, input_size: tuple[int, int], original_size: tuple[int, int]
) -> np.ndarray:
    """One (h, w) float32 plane -> (H, W), the two reference resizes done by OpenCV."""
    h, w = plane.shape
    ih, iw = input_size
    x = plane
    if (h, w) != (img_size, img_size):
        factor = img_size // h
        # Resizing a crop by exactly `factor` keeps the full image's sampling positions.
        nh, nw = _needed(ih, factor, h), _needed(iw, factor, w)
        x = cv2.resize(plane[:nh, :nw], (nw * factor, nh * factor), interpolation=cv2.INTER_LINEAR)
    # OpenCV reads a row-strided crop in place: no copy of the (ih, iw) plane (measured 2.6 ->
    # 2.0 ms a ViT-B plane at 1800x1200). One call on all C planes as channels was slower
    # (2.2 ms one plane, twice as slow for three: the channel transposes), and one resize
    # from the low-res crop straight to the original size, though 2x faster, is not the
    # reference's sampling (0.5% of pixels differ).
    return cv2.resize(
        x[:ih, :iw], (original_size[1], original_size[0]), interpolation=cv2.INTER_LINEAR
    )
