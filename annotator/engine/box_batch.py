"""Masks for many boxes on one image ("segment these detections"), batched through the decoder.

Each decoder batch is RLE-encoded as soon as it comes back, so only one batch of full-size
masks is ever alive: keeping an (H, W) array for every box of a large detection file (each a
view pinning its whole (B, 1, H, W) batch) would grow without bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from annotator.engine.amg.mask_ops import encode_rles

DEFAULT_BATCH = 64  # boxes sent through the mask decoder at once


@dataclass(frozen=True)
class BoxMask:
    """One box's mask, in original-image pixels."""

    rle: dict[str, Any]  # compressed COCO RLE {"size": [H, W], "counts": str}
    area: int  # pixels inside the mask; 0 when the decoder gave an empty mask
    predicted_iou: float  # the decoder's IoU estimate for this mask


def predict_boxes(
    predictor: Any, image: np.ndarray, boxes_xyxy: Any, batch_size: int = DEFAULT_BATCH
) -> Iterator[BoxMask]:
    """One mask per box of `boxes_xyxy` on `image`, yielded in box order.

    `predictor`: an `annotator.engine.Predictor` or anything with segment-anything's
    ``SamPredictor`` API (``set_image``, ``transform``, ``original_size``, ``predict_torch``).
    `image`: (H, W, 3) uint8 RGB (or what the predictor's ``set_image`` accepts).
    `boxes_xyxy`: (N, 4) float XYXY boxes in image pixels. Boxes go through the decoder in
    batches of up to `batch_size`, single-mask output.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    predictor.set_image(image)
    for start in range(0, len(boxes), batch_size):
        part = torch.as_tensor(
            boxes[start : start + batch_size], dtype=torch.float32, device=predictor.device
        )
        part = predictor.transform.apply_boxes_torch(part, predictor.original_size)
        masks, scores, _ = predictor.predict_torch(None, None, boxes=part, multimask_output=False)
        masks_np = masks[:, 0].cpu().numpy()  # (B, H, W) bool
        scores_np = scores[:, 0].float().cpu().numpy()
        areas = masks_np.reshape(len(masks_np), -1).sum(axis=1)
        rles = encode_rles(masks_np)
        del masks, masks_np  # only the RLEs outlive the batch
        for rle, area, score in zip(rles, areas, scores_np, strict=True):
            yield BoxMask(rle=rle, area=int(area), predicted_iou=float(score))
