"""`annotator segment`'s work on one image, the same code for the local run and each Ray
actor: read the image, turn its boxes into masks, and write them atomically as the image's
part (`segment_writer`); the driver assembles the project from the parts, in the images'
order, so both give the same bytes and a killed run of either kind resumes in the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotator.cli.batch_run import ImageItemsJob
from annotator.cli.segment_writer import BoxCocoWriter
from annotator.distributed.jobs import ItemOutcome


@dataclass(frozen=True)
class Box:
    """One detection to segment: box XYXY in image pixels, its category and detector score."""

    xyxy: tuple[float, float, float, float]
    category_id: int
    score: float | None


@dataclass(kw_only=True)
class SegmentJob(ImageItemsJob):
    """The images with boxes of one `annotator segment` run; picklable until `setup`.

    items[i]: an image; boxes[i]: its detections that passed --min-score. `load(args)` gives
    the predictor (`_common.load_predictor`: every node resolves --checkpoint itself).
    """

    boxes: list[list[Box]]
    writer: BoxCocoWriter
    _predictor: Any = field(default=None, repr=False)

    def setup(self) -> None:
        """Load the model; raises CheckpointError, ValueError or OSError."""
        from annotator.cli._common import model_name

        self._predictor = self.load(self.args)
        self.model = self.writer.model_name = model_name(self._predictor)

    def process(self, index: int, image: Any) -> ItemOutcome:
        """Masks for the (H, W, 3) uint8 RGB `image`'s boxes, written as its part; count: the
        non-empty masks; payload: the boxes tried. A part already there (an earlier attempt
        of a retried Ray batch wrote it) is kept."""
        from annotator.engine.box_batch import predict_boxes

        item, boxes = self.items[index], self.boxes[index]
        if self.writer.done(item):
            return ItemOutcome(index, payload=0)
        try:
            masks = list(predict_boxes(self._predictor, image, [b.xyxy for b in boxes]))
        except (ValueError, RuntimeError) as exc:  # e.g. out of device memory
            return ItemOutcome(index, error=f"segmentation failed: {exc}")
        records = [
            {"segmentation": mask.rle, "category_id": box.category_id, "box": list(box.xyxy),
             "score": box.score, "predicted_iou": mask.predicted_iou}
            for box, mask in zip(boxes, masks, strict=True)
            if mask.area
        ]  # fmt: skip
        self.writer.write(item, image.shape[:2], records)
        return ItemOutcome(index, count=len(records), payload=len(boxes))
