"""Batched mask operations for automatic mask generation: stability score, mask boxes,
small-region removal and RLE.

The stability score and the mask box follow segment-anything's ``utils/amg.py`` arithmetic
exactly; RLE is pycocotools, small-region removal is OpenCV, and everything works on whole
batches.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from pycocotools import mask as mask_utils


def stability_score(logits: torch.Tensor, threshold: float, offset: float) -> torch.Tensor:
    """IoU of the masks thresholded at threshold±offset; (..., H, W) float logits -> (...) float.

    The generator's filter and the exported ONNX decoder's ``--use-stability-score`` output.
    """
    # The high-threshold mask lies inside the low-threshold one, so IoU = count ratio.
    inter = (logits > (threshold + offset)).sum(-1, dtype=torch.int32).sum(-1, dtype=torch.int32)
    union = (logits > (threshold - offset)).sum(-1, dtype=torch.int32).sum(-1, dtype=torch.int32)
    return inter.float() / union.float()


def batched_mask_to_box(masks: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool -> (N, 4) int64 XYXY with inclusive max (the reference's convention).

    An empty mask gives [0, 0, 0, 0].
    """
    n, h, w = masks.shape
    if n == 0:
        return torch.zeros(0, 4, dtype=torch.int64, device=masks.device)
    rows = masks.any(dim=-1)  # (N, H)
    cols = masks.any(dim=-2)  # (N, W)
    ar_h = torch.arange(h, device=masks.device)
    ar_w = torch.arange(w, device=masks.device)
    bottom = torch.where(rows, ar_h, -1).amax(dim=-1)
    top = torch.where(rows, ar_h, h).amin(dim=-1)
    right = torch.where(cols, ar_w, -1).amax(dim=-1)
    left = torch.where(cols, ar_w, w).amin(dim=-1)
    boxes = torch.stack([left, top, right, bottom], dim=-1)
    empty = ~rows.any(dim=-1)
    return torch.where(empty[:, None], torch.zeros_like(boxes), boxes)


def remove_small_regions(
    mask: np.ndarray, area_thresh: float, mode: str
) -> tuple[np.ndarray, bool]:
    """Fill holes (mode "holes") or drop islands ("islands") smaller than area_thresh pixels.

    (H, W) bool -> (mask, changed). If every island is small, the largest is kept.
    """
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', not {mode!r}")
    holes = mode == "holes"
    working = (holes ^ mask).astype(np.uint8)
    n_labels, regions, stats, _ = cv2.connectedComponentsWithStats(working, connectivity=8)
    sizes = stats[1:, cv2.CC_STAT_AREA]  # label 0 is the background of `working`
    small = np.flatnonzero(sizes < area_thresh) + 1
    if small.size == 0:
        return mask, False
    keep_label = np.zeros(n_labels, dtype=bool)  # lookup table: label -> pixel is in the mask
    if holes:
        keep_label[0] = True
        keep_label[small] = True
    else:
        keep_label[1:] = True
        keep_label[small] = False
        if not keep_label.any():
            keep_label[int(np.argmax(sizes)) + 1] = True
    return keep_label[regions], True


def encode_rles(masks: np.ndarray) -> list[dict[str, Any]]:
    """(N, H, W) bool -> compressed COCO RLEs {"size": [H, W], "counts": str} (pycocotools)."""
    if len(masks) == 0:
        return []
    fortran = np.asfortranarray(masks.transpose(1, 2, 0).view(np.uint8))
    rles = mask_utils.encode(fortran)
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def uncompressed_rle(mask: np.ndarray) -> dict[str, Any]:
    """(H, W) bool -> {"size": [H, W], "counts": [int, ...]} column-major runs, zeros first."""
    h, w = mask.shape
    flat = mask.T.reshape(-1)  # column-major order, as COCO RLE counts it
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [h * w]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": [h, w], "counts": counts}
