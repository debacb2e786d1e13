"""The simulated annotator: where the next click goes, and whether it is positive.

Protocol (RITM / SAM / ClickSEG, with the error region chosen by area):

* The first click goes at the object's interior point farthest from its boundary: the argmax
  of the exact Euclidean distance transform (``cv2.distanceTransform``, ``DIST_L2``, precise
  mask) of the ground-truth mask padded by one background pixel, so the image border counts as
  boundary too.
* Every next click goes into the largest error region (8-connected component, by pixel count)
  of the false negatives (ground truth the prediction misses) and false positives (predicted
  pixels outside the ground truth), at that region's interior point farthest from the region's
  own boundary (same padded distance transform). It is positive for a false-negative region and
  negative for a false-positive one.
* Ties: an FN and an FP region of the same area -> the FN region; equal regions of one kind ->
  the first in row-major scan order; equal distances -> the first pixel in row-major order.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Click:
    """One simulated click on pixel (row, col); positive = foreground (label 1)."""

    row: int
    col: int
    positive: bool

    @property
    def xy(self) -> tuple[float, float]:
        """The click in the predictor's frame: xy of the pixel centre, original-image pixels."""
        return (self.col + 0.5, self.row + 0.5)

    @property
    def label(self) -> int:
        """SAM point label: 1 foreground, 0 background."""
        return 1 if self.positive else 0


def _as_mask(mask: np.ndarray, name: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"{name} must be an (H, W) mask, got shape {mask.shape}")
    return mask if mask.dtype == bool else mask != 0


def interior_point(region: np.ndarray) -> tuple[int, int] | None:
    """(row, col) of the pixel of ``region`` ((H, W) bool) farthest from its boundary, or None
    when the region is empty. The image border counts as boundary (one-pixel zero padding)."""
    region = _as_mask(region, "region")
    if not region.any():
        return None
    padded = np.pad(region.astype(np.uint8), 1)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    row, col = divmod(int(np.argmax(dist)), region.shape[1])
    return row, col


def first_click(gt: np.ndarray) -> Click:
    """The first (positive) click on the (H, W) ground-truth mask. Raises ValueError if empty."""
    point = interior_point(_as_mask(gt, "gt"))
    if point is None:
        raise ValueError("the ground-truth mask is empty: there is nothing to click on")
    return Click(point[0], point[1], True)


def largest_region(errors: np.ndarray) -> tuple[int, np.ndarray | None]:
    """(pixel count, (H, W) bool mask) of the largest 8-connected component of ``errors``;
    (0, None) when there is none. Equal components: the first in row-major scan order."""
    if not errors.any():
        return 0, None
    _, labels, stats, _ = cv2.connectedComponentsWithStats(errors.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    k = int(np.argmax(areas))
    return int(areas[k]), labels == k + 1


def next_click(gt: np.ndarray, pred: np.ndarray) -> Click | None:
    """The corrective click for prediction ``pred`` of ``gt`` (both (H, W) bool), or None when
    the prediction is exact (no error region to click on)."""
    gt, pred = _as_mask(gt, "gt"), _as_mask(pred, "pred")
    if gt.shape != pred.shape:
        raise ValueError(f"gt {gt.shape} and pred {pred.shape} masks differ in shape")
    fn_area, fn_region = largest_region(gt & ~pred)
    fp_area, fp_region = largest_region(pred & ~gt)
    if fn_region is None and fp_region is None:
        return None
    positive = fn_area >= fp_area
    region = fn_region if positive else fp_region
    assert region is not None
    point = interior_point(region)
    assert point is not None
    return Click(point[0], point[1], positive)
