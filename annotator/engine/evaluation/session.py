"""One simulated annotation session: prompts from the clicker, masks from a predictor.

Modes:

* ``clicks``: click 1 is the first click, each next one corrects the previous mask;
* ``box``: the ground-truth box alone (one interaction);
* ``box+clicks``: the box first (interaction 1), then corrective clicks with the box kept.

As in the app, the chosen mask's low-res logits are fed back as ``mask_input`` of the next
prediction (``feedback``; off gives the literature's variant without it), and a first click
without a box asks for the three multimask candidates and keeps the highest-scoring one
(``multimask_first``). Box prompts and later clicks ask for one mask, as the app does.

The predictor is anything with ``predict(point_coords, point_labels, box, mask_input,
multimask_output)`` returning (masks (C, H, W) bool, scores (C,), low-res logits (C, 256, 256)),
with the image already set: the engine's :class:`~annotator.engine.predictor.Predictor`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.engine.evaluation import MODES
from annotator.engine.evaluation.clicker import Click, first_click, next_click
from annotator.engine.evaluation.metrics import mask_iou


@dataclass(frozen=True)
class SessionOptions:
    """mode: one of MODES; max_clicks: interactions per object (the box counts as one);
    feedback: previous low-res logits as mask_input; multimask_first: best of three candidates
    on a first click without a box."""

    mode: str = "clicks"
    max_clicks: int = 20
    feedback: bool = True
    multimask_first: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.max_clicks < 1:
            raise ValueError(f"max_clicks must be at least 1, got {self.max_clicks}")

    @property
    def interactions(self) -> int:
        """Length of an object's IoU curve: 1 in box mode, else max_clicks."""
        return 1 if self.mode == "box" else self.max_clicks


@dataclass
class SessionResult:
    """ious[k-1]: IoU after k interactions (shorter than the maximum when the mask became exact
    and nothing was left to click); clicks: the clicks given, in order; seconds: wall time of
    each prediction; scores: the model's predicted IoU of each kept mask; box: the XYXY box
    prompt (None in clicks mode); mask: the final (H, W) bool prediction."""

    ious: list[float] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None
    mask: np.ndarray | None = None


def gt_box(mask: np.ndarray) -> np.ndarray:
    """Tight XYXY box (4,) float64 of a non-empty (H, W) mask, in the continuous pixel frame:
    (first col, first row, last col + 1, last row + 1), i.e. the COCO bbox as XYXY."""
    rows = np.flatnonzero(np.any(mask, axis=1))
    cols = np.flatnonzero(np.any(mask, axis=0))
    if rows.size == 0:
        raise ValueError("the mask is empty: it has no box")
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)


def jitter_box(
    box: np.ndarray, percent: float, rng: np.random.Generator, shape: tuple[int, int]
) -> np.ndarray:
    """A noisy copy of XYXY ``box``: each edge moved by a uniform offset in +-percent % of the
    box's width (x edges) or height (y edges), then clipped to the (H, W) image ``shape``; the
    box keeps at least one pixel of width and height."""
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = x1 - x0, y1 - y0
    dx = rng.uniform(-1.0, 1.0, 2) * w * percent / 100.0
    dy = rng.uniform(-1.0, 1.0, 2) * h * percent / 100.0
    height, width = shape
    nx0, nx1 = np.clip([x0 + dx[0], x1 + dx[1]], 0.0, width)
    ny0, ny1 = np.clip([y0 + dy[0], y1 + dy[1]], 0.0, height)
    if nx1 - nx0 < 1.0:
        nx0, nx1 = min(nx0, width - 1.0), min(nx0, width - 1.0) + 1.0
    if ny1 - ny0 < 1.0:
        ny0, ny1 = min(ny0, height - 1.0), min(ny0, height - 1.0) + 1.0
    return np.array([nx0, ny0, nx1, ny1], np.float64)


def run_session(
    predictor: Any,
    gt: np.ndarray,
    options: SessionOptions,
    box: np.ndarray | None = None,
) -> SessionResult:
    """Simulate one object's annotation on the predictor's current image.

    gt: (H, W) bool ground truth (the image's size). box: XYXY prompt for the box modes
    (default: the tight box of ``gt``). Stops after ``options.interactions`` predictions, or
    earlier when the mask is exact.
    """
    gt = np.asarray(gt, bool)
    use_box = options.mode != "clicks"
    if use_box and box is None:
        box = gt_box(gt)
    result = SessionResult(box=tuple(float(v) for v in box) if use_box else None)  # type: ignore[arg-type]
    points: list[tuple[float, float]] = []
    labels: list[int] = []
    logits: np.ndarray | None = None
    pred: np.ndarray | None = None
    for step in range(options.interactions):
        if not (use_box and step == 0):
            click = first_click(gt) if pred is None else next_click(gt, pred)
            if click is None:
                break  # exact: nothing left to correct
            result.clicks.append(click)
            points.append(click.xy)
            labels.append(click.label)
        multimask = options.multimask_first and step == 0 and not use_box
        start = time.perf_counter()
        masks, scores, low_res = predictor.predict(
            point_coords=np.array(points, np.float32) if points else None,
            point_labels=np.array(labels, np.int32) if points else None,
            box=np.asarray(box, np.float32) if use_box else None,
            mask_input=logits if options.feedback else None,
            multimask_output=multimask,
        )
        result.seconds.append(time.perf_counter() - start)
        best = int(np.argmax(scores)) if multimask else 0
        pred = np.asarray(masks[best], bool)
        logits = np.asarray(low_res[best], np.float32)[None]
        result.scores.append(float(scores[best]))
        result.ious.append(mask_iou(gt, pred))
    result.mask = pred
    return result
