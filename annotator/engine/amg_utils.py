"""Helpers for automatic mask generation: point grids, crop boxes, mask scores and boxes, RLE.

Grids, crop boxes, the stability score and the mask box follow segment-anything's
``utils/amg.py`` arithmetic exactly (the generator must keep the reference's mask set); RLE is
pycocotools, small-region removal is OpenCV, and everything works on whole batches.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import cv2
import numpy as np
import torch
from pycocotools import mask as mask_utils


def build_point_grid(n_per_side: int) -> np.ndarray:
    """(n², 2) float64 xy points evenly spaced in [0, 1]², cell centres, row-major (y outer)."""
    offset = 1 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs = np.tile(side[None, :], (n_per_side, 1))
    ys = np.tile(side[:, None], (1, n_per_side))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def build_all_layer_point_grids(
    n_per_side: int, n_layers: int, scale_per_layer: int
) -> list[np.ndarray]:
    """One normalised grid per crop layer; layer i has n_per_side / scale**i points a side."""
    return [build_point_grid(int(n_per_side / (scale_per_layer**i))) for i in range(n_layers + 1)]


def generate_crop_boxes(
    im_size: tuple[int, int], n_layers: int, overlap_ratio: float
) -> tuple[list[list[int]], list[int]]:
    """Crop boxes XYXY in image pixels (the whole image first) and the layer of each.

    Layer i (1-based) tiles the image with (2**i)² overlapping crops.
    """
    im_h, im_w = im_size
    short_side = min(im_h, im_w)
    crop_boxes: list[list[int]] = [[0, 0, im_w, im_h]]
    layer_idxs = [0]

    def crop_len(orig_len: int, n_crops: int, overlap: int) -> int:
        return math.ceil((overlap * (n_crops - 1) + orig_len) / n_crops)

    for i_layer in range(n_layers):
        n_crops_per_side = 2 ** (i_layer + 1)
        overlap = int(overlap_ratio * short_side * (2 / n_crops_per_side))
        crop_w = crop_len(im_w, n_crops_per_side, overlap)
        crop_h = crop_len(im_h, n_crops_per_side, overlap)
        x0s = [int((crop_w - overlap) * i) for i in range(n_crops_per_side)]
        y0s = [int((crop_h - overlap) * i) for i in range(n_crops_per_side)]
        for x0, y0 in product(x0s, y0s):
            crop_boxes.append([x0, y0, min(x0 + crop_w, im_w), min(y0 + crop_h, im_h)])
            layer_idxs.append(i_layer + 1)
    return crop_boxes, layer_idxs


def stability_score(logits: torch.Tensor, threshold: float, offset: float) -> torch.Tensor:
    """IoU of the masks thresholded at threshold±offset; (N, H, W) float logits -> (N,) float."""
    # The high-threshold mask lies inside the low-threshold one, so IoU = count ratio.
    inter = (logits > (threshold + offset)).sum(dim=(-1, -2), dtype=torch.int32)
    union = (logits > (threshold - offset)).sum(dim=(-1, -2), dtype=torch.int32)
    return inter / union


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


def is_box_near_crop_edge(
    boxes: torch.Tensor, crop_box: list[int], orig_box: list[int], atol: float = 20.0
) -> torch.Tensor:
    """(N, 4) XYXY crop-frame boxes -> (N,) bool: touches a crop edge that is not an image edge."""
    crop = torch.as_tensor(crop_box, dtype=torch.float, device=boxes.device)
    orig = torch.as_tensor(orig_box, dtype=torch.float, device=boxes.device)
    x0, y0 = crop_box[0], crop_box[1]
    offset = torch.tensor([x0, y0, x0, y0], device=boxes.device)
    boxes = (boxes + offset).float()
    near_crop = torch.isclose(boxes, crop[None, :], atol=atol, rtol=0)
    near_image = torch.isclose(boxes, orig[None, :], atol=atol, rtol=0)
    return torch.any(near_crop & ~near_image, dim=1)


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
