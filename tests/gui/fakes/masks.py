"""Deterministic synthetic masks: a pure function of the prompts (no Qt)."""

from __future__ import annotations

import numpy as np

from annotator.gui.session.prompt_state import mask_to_logits


def logits_to_mask(mask_input, shape):
    """(H, W) bool: where SAM ``mask_input`` logits ((1, 256, 256), the longest side scaled to
    256 and padded as prompt_state.mask_to_logits makes them) are positive, at image size."""
    h, w = shape
    scale = 256 / max(h, w)
    rows = np.minimum((np.arange(h) * scale).astype(int), 255)
    cols = np.minimum((np.arange(w) * scale).astype(int), 255)
    return np.asarray(mask_input)[0][np.ix_(rows, cols)] > 0


def synthetic_masks(shape, points, labels, box, multimask, mask_input=None):
    """(C, H, W) bool, (C,) scores: the box (or a disk around the first fg point), plus disks
    of radius r around further fg points, minus disks around bg points. With ``mask_input``
    (a model that refines from the previous mask) the mask starts from it."""
    h, w = shape
    yy, xx = np.mgrid[:h, :w]
    out = []
    radii = (12, 24, 36) if multimask else (24,)
    for r in radii:
        m = np.zeros((h, w), bool) if mask_input is None else logits_to_mask(mask_input, shape)
        if box is not None:
            x0, y0, x1, y1 = box
            m |= (xx >= x0) & (xx < x1) & (yy >= y0) & (yy < y1)
        for (px, py), lab in zip(points, labels, strict=True):
            disk = (xx - px) ** 2 + (yy - py) ** 2 <= r * r
            m = m | disk if lab == 1 else m & ~disk
        out.append(m)
    scores = np.array([0.7, 0.95, 0.8][: len(out)] if multimask else [0.9], np.float32)
    return np.stack(out), scores


def answer(shape, points, labels, box, multimask, mask_input=None):
    """(masks (C, H, W) bool, scores (C,) float32, low-res logits (C, 256, 256) float32) as the
    model would answer these prompts."""
    masks, scores = synthetic_masks(shape, points, labels, box, multimask, mask_input)
    if mask_input is not None:  # in the low-res frame a refining model reads back
        return masks, scores, np.concatenate([mask_to_logits(m) for m in masks])
    low = np.where(masks, 5.0, -5.0).astype(np.float32)[:, :256, :256]
    low = np.pad(low, ((0, 0), (0, 256 - low.shape[1]), (0, 256 - low.shape[2])))
    return masks, scores, low
