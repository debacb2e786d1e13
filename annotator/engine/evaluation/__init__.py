"""Interactive-segmentation evaluation: the simulated annotator of the standard protocol (RITM,
SAM, ClickSEG), its session loop over a Predictor, and the metrics (NoC@85/90, fail rates,
mIoU@k). Numpy and OpenCV only: the predictor is duck-typed, so nothing here imports torch.

Masks are (H, W) bool arrays in image pixels, row 0 at the top; clicks carry the pixel's
(row, col) and are given to the model at the pixel centre (col + 0.5, row + 0.5), as a person's
click on that pixel in the app would be.
"""

from annotator.engine.evaluation.clicker import Click, first_click, interior_point, next_click
from annotator.engine.evaluation.metrics import clicks_to_reach, iou_curve, mask_iou, summarize
from annotator.engine.evaluation.session import (
    MODES,
    SessionOptions,
    SessionResult,
    gt_box,
    jitter_box,
    run_session,
)

__all__ = [
    "MODES",
    "Click",
    "SessionOptions",
    "SessionResult",
    "clicks_to_reach",
    "first_click",
    "gt_box",
    "interior_point",
    "iou_curve",
    "jitter_box",
    "mask_iou",
    "next_click",
    "run_session",
    "summarize",
]
