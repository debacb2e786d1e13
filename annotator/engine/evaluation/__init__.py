"""Interactive-segmentation evaluation: the simulated annotator of the standard protocol (RITM,
SAM, ClickSEG), its session loop over a Predictor, and the metrics (NoC@85/90, fail rates,
mIoU@k). Numpy and OpenCV only: the predictor is duck-typed, so nothing here imports torch.

Masks are (H, W) bool arrays in image pixels, row 0 at the top; clicks carry the pixel's
(row, col) and are given to the model at the pixel centre (col + 0.5, row + 0.5), as a person's
click on that pixel in the app would be.

Modules: ``clicker`` (where the next click goes), ``session`` (one object's simulated session),
``metrics`` (NoC, fail rate, mIoU@k), ``runner`` (runs x objects of one image, with the
encoding reuse), ``report`` (summary.json, per_object.csv, console tables). The names below
load lazily (PEP 562), so the command line can read MODES without importing OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

MODES: tuple[str, ...] = ("clicks", "box", "box+clicks")
"""Prompt modes: clicks only; the ground-truth box alone; the box, then corrective clicks."""

_EXPORTS = {
    "Click": ".clicker",
    "first_click": ".clicker",
    "interior_point": ".clicker",
    "next_click": ".clicker",
    "clicks_to_reach": ".metrics",
    "iou_curve": ".metrics",
    "mask_iou": ".metrics",
    "summarize": ".metrics",
    "SessionOptions": ".session",
    "SessionResult": ".session",
    "gt_box": ".session",
    "jitter_box": ".session",
    "run_session": ".session",
}

__all__ = ["MODES", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
