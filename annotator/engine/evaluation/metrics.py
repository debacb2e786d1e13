"""Metrics of the interactive protocol: IoU, NoC@target, fail rate, mIoU@k.

An object's IoU curve has one value per interaction (click, or the box in the box modes): the
IoU of the prediction after k interactions, k = 1..max. A session that stops early because the
prediction is exact (nothing left to click) is padded with its last value.

NoC@t: interactions until IoU >= t, capped at the maximum (an object that never reaches t counts
the maximum, and is a failure at t). The fail rate at t is the share of such objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

TARGETS: tuple[float, ...] = (0.85, 0.90)
"""IoU targets of NoC@85 and NoC@90."""


def mask_iou(gt: np.ndarray, pred: np.ndarray) -> float:
    """IoU of two (H, W) bool masks; 1.0 when both are empty."""
    gt, pred = np.asarray(gt, bool), np.asarray(pred, bool)
    if gt.shape != pred.shape:
        raise ValueError(f"masks differ in shape: {gt.shape} and {pred.shape}")
    union = int(np.count_nonzero(gt | pred))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(gt & pred)) / union


def iou_curve(ious: Sequence[float], length: int) -> list[float]:
    """``ious`` cut or padded (with its last value) to ``length`` entries. Empty -> zeros."""
    values = [float(v) for v in ious[:length]]
    last = values[-1] if values else 0.0
    return values + [last] * (length - len(values))


def clicks_to_reach(ious: Sequence[float], target: float, max_clicks: int) -> tuple[int, bool]:
    """(NoC, failed): the first k (1-based) with ious[k-1] >= target, capped at max_clicks;
    failed is True when the target is never reached within max_clicks."""
    for k, value in enumerate(ious[:max_clicks], start=1):
        if value >= target:
            return k, False
    return max_clicks, True


def target_key(target: float) -> str:
    """0.85 -> "85" (the suffix of NoC@85)."""
    return f"{round(target * 100):d}"


def summarize(
    objects: Iterable[Mapping[str, Any]],
    max_clicks: int,
    targets: Sequence[float] = TARGETS,
) -> dict[str, Any]:
    """Aggregate over objects, each a mapping with ``ious`` (per-interaction IoU, any length)
    and ``seconds`` (per-prediction wall time). Returns ``objects`` (count), ``NoC@85`` ...,
    ``fail@85`` ... (share in [0, 1]), ``mIoU`` (list of max_clicks means, entry k-1 = mIoU@k)
    and ``seconds_per_click`` (mean over all predictions). Values are None for no objects."""
    curves, seconds = [], []
    for obj in objects:
        curves.append(iou_curve(obj["ious"], max_clicks))
        seconds.extend(float(s) for s in obj["seconds"])
    out: dict[str, Any] = {"objects": len(curves)}
    for t in targets:
        reached = [clicks_to_reach(c, t, max_clicks) for c in curves]
        key = target_key(t)
        out[f"NoC@{key}"] = float(np.mean([n for n, _ in reached])) if curves else None
        out[f"fail@{key}"] = float(np.mean([f for _, f in reached])) if curves else None
    out["mIoU"] = [float(v) for v in np.mean(curves, axis=0)] if curves else None
    out["seconds_per_click"] = float(np.mean(seconds)) if seconds else None
    return out
