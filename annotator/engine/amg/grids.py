"""Point grids and crop boxes for automatic mask generation.

The arithmetic follows segment-anything's ``utils/amg.py`` exactly: the generator must keep
the reference's mask set.
"""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import torch


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
