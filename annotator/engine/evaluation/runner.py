"""Evaluate several runs (a predictor and session options each) on one image's objects.

Encoded images are reused across runs only where the embedding matches: an
:class:`ImageStateCache` keys each ``Predictor.get_image_state()`` by (``model.model_id``,
image key), where the caller's image key identifies the pixels (e.g. the file's SHA-256). Two
modes of one checkpoint, or one checkpoint listed twice, share one encoding; two checkpoints
never do.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotator.engine.evaluation.clicker import Click
from annotator.engine.evaluation.metrics import TARGETS, clicks_to_reach, iou_curve, target_key
from annotator.engine.evaluation.session import SessionOptions, gt_box, jitter_box, run_session


@dataclass(frozen=True)
class Run:
    """One line of the comparison: a named predictor with its session options."""

    name: str
    predictor: Any
    options: SessionOptions


@dataclass(frozen=True)
class EvalObject:
    """A ground-truth object: id (from the GT file), category name, (H, W) bool mask."""

    object_id: int
    category: str
    mask: np.ndarray


@dataclass
class ObjectResult:
    """One object under one run. ``ious`` is padded to the run's interactions; ``error`` is set
    (and the rest empty) when the object could not be evaluated."""

    run: str
    image: str
    object_id: int
    category: str
    area: int
    ious: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    box: tuple[float, float, float, float] | None = None
    error: str | None = None

    def noc(self, target: float) -> tuple[int, bool]:
        return clicks_to_reach(self.ious, target, len(self.ious))

    def row(self, targets: Sequence[float] = TARGETS) -> dict[str, Any]:
        """A flat per_object.csv row (iou@k columns added by the caller's header)."""
        out: dict[str, Any] = {
            "run": self.run,
            "image": self.image,
            "object_id": self.object_id,
            "category": self.category,
            "area": self.area,
        }
        for t in targets:
            n, failed = self.noc(t)
            out[f"NoC@{target_key(t)}"] = n
            out[f"failed@{target_key(t)}"] = int(failed)
        out["final_iou"] = round(self.ious[-1], 6) if self.ious else ""
        out["seconds_per_click"] = round(float(np.mean(self.seconds)), 6) if self.seconds else ""
        out["clicks"] = " ".join(
            f"{'+' if c.positive else '-'}{c.col},{c.row}" for c in self.clicks
        )
        out["box"] = " ".join(f"{v:.1f}" for v in self.box) if self.box else ""
        for k, v in enumerate(self.ious, start=1):
            out[f"iou@{k}"] = round(v, 6)
        return out


class ImageStateCache:
    """LRU of ImageState keyed by (model_id, image key); counts encodes and reuses."""

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self.encodes = 0
        self.reuses = 0
        self.encode_seconds = 0.0

    def set_image(self, predictor: Any, image_key: str, load_image: Any) -> None:
        """Put the image on ``predictor``: its cached state, or ``load_image()`` encoded."""
        key = (str(predictor.model.model_id), image_key)
        state = self._items.get(key)
        if state is not None:
            self._items.move_to_end(key)
            predictor.set_image_state(state)
            self.reuses += 1
            return
        start = time.perf_counter()
        predictor.set_image(load_image())
        self.encode_seconds += time.perf_counter() - start
        self.encodes += 1
        self._items[key] = predictor.get_image_state()
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


def evaluate_image(
    runs: Sequence[Run],
    image_name: str,
    image_key: str,
    load_image: Any,
    objects: Sequence[EvalObject],
    cache: ImageStateCache,
    box_jitter: float = 0.0,
    seed: int = 0,
) -> Iterator[ObjectResult]:
    """Yield one ObjectResult per (run, object), runs outermost.

    load_image: () -> (H, W, 3) uint8 RGB, called at most once per model. Jittered boxes are
    drawn from a generator seeded with (seed, object_id), so every run gets the same box.
    """
    for run in runs:
        cache.set_image(run.predictor, image_key, load_image)
        for obj in objects:
            base = ObjectResult(run.name, image_name, obj.object_id, obj.category, 0)
            base.area = int(np.count_nonzero(obj.mask))
            try:
                box = None
                if run.options.mode != "clicks":
                    box = gt_box(obj.mask)
                    if box_jitter > 0:
                        rng = np.random.default_rng([seed, obj.object_id])
                        box = jitter_box(box, box_jitter, rng, obj.mask.shape)
                session = run_session(run.predictor, obj.mask, run.options, box)
            except ValueError as exc:
                base.error = str(exc)
                yield base
                continue
            base.ious = iou_curve(session.ious, run.options.interactions)
            base.seconds = session.seconds
            base.clicks = session.clicks
            base.box = session.box
            yield base
