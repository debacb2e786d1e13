"""`annotator segment`'s work on one image, the same code for the local run and each Ray
actor: read the image, turn its boxes into masks; the RLEs go back to the driver, which builds
the project (`segment.build_project`) in the images' order, so both give the same bytes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.distributed.jobs import ItemOutcome


@dataclass
class SegmentJob:
    """The images with boxes of one `annotator segment` run; picklable until `setup`.

    files: image paths relative to `root` (posix); boxes[i]: the XYXY boxes, in image pixels,
    of files[i]'s detections that passed --min-score. `load(args)` gives the predictor.
    """

    args: argparse.Namespace
    root: Path
    files: list[str]
    boxes: list[list[list[float]]]
    load: Callable[[argparse.Namespace], Any]
    model: str = ""
    warning: str | None = None
    _predictor: Any = field(default=None, repr=False)

    def setup(self) -> None:
        """Load the model; raises CheckpointError, ValueError or OSError."""
        from annotator.cli._common import model_name

        self._predictor = self.load(self.args)
        self.model = model_name(self._predictor)

    def label(self, index: int) -> str:
        return self.files[index]

    def read(self, index: int) -> Any:
        from annotator.io.images import read_image

        return read_image(self.root / self.files[index])

    def process(self, index: int, image: Any) -> ItemOutcome:
        """payload: {"size": [H, W], "masks": [[box index, RLE, predicted IoU] per non-empty
        mask], "boxes": boxes tried}; count: the non-empty masks."""
        from annotator.engine.box_batch import predict_boxes

        masks = [
            [i, box_mask.rle, box_mask.predicted_iou]
            for i, box_mask in enumerate(predict_boxes(self._predictor, image, self.boxes[index]))
            if box_mask.area
        ]
        payload = {"size": list(image.shape[:2]), "masks": masks, "boxes": len(self.boxes[index])}
        return ItemOutcome(index, count=len(masks), payload=payload)
