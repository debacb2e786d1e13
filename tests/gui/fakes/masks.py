"""Deterministic synthetic masks: a pure function of the prompts (no Qt)."""

from __future__ import annotations

import numpy as np


def synthetic_masks(shape, points, labels, box, multimask):
    """(C, H, W) bool, (C,) scores: the box (or a disk around the first fg point), plus disks
    of radius r around further fg points, minus disks around bg points."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    out = []
    radii = (12, 24, 36) if multimask else (24,)
    for r in radii:
        m = np.zeros((h, w), bool)
        if box is not None:
            x0, y0, x1, y1 = box
            m |= (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
        for (px, py), lab in zip(points, labels, strict=True):
            disk = (xx - px) ** 2 + (yy - py) ** 2 <= r * r
            m = m | disk if lab == 1 else m & ~disk
        out.append(m)
    scores = np.array([0.7, 0.95, 0.8][: len(out)] if multimask else [0.9], np.float32)
    return np.stack(out), scores


def answer(shape, points, labels, box, multimask):
    """(masks (C, H, W) bool, scores (C,) float32, low-res logits (C, 256, 256) float32) as the
    model would answer these prompts."""
    masks, scores = synthetic_masks(shape, points, labels, box, multimask)
    low = np.where(masks, 5.0, -5.0).astype(np.float32)[:, :256, :256]
    low = np.pad(low, ((0, 0), (0, 256 - low.shape[1]), (0, 256 - low.shape[2])))
    return masks, scores, low
