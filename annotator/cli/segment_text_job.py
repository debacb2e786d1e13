"""`annotator segment --text`'s work on one image, the same code for the local run and each Ray
actor: read the image, find every instance of each phrase with SAM 3, and write them
atomically as the image's part (`segment_text_writer`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotator.cli.batch_run import ImageItemsJob
from annotator.cli.segment_text_writer import ConceptCocoWriter
from annotator.distributed.jobs import ItemOutcome


def find_records(predictor: Any, image: Any, phrases: list[str], threshold: float) -> list[dict]:
    """The part records of `image` ((H, W, 3) uint8 RGB): per phrase, per instance scored
    above `threshold`, its mask (RLE), phrase, score (6 decimals) and box (XYXY pixels)."""
    from annotator.io.masks import encode_mask, mask_area

    predictor.set_image(image)
    records = []
    for phrase in phrases:
        for instance in predictor.find(phrase, threshold=threshold):
            rle = encode_mask(instance.mask)
            if mask_area(rle) == 0:
                continue  # the store refuses empty masks
            score = round(instance.score, 6)
            records.append(
                {"segmentation": rle, "phrase": phrase, "score": score, "box": list(instance.box)}
            )
    return records


@dataclass(kw_only=True)
class TextJob(ImageItemsJob):
    """The images of one `annotator segment --text` run; picklable until `setup`. `load(args)`
    gives the ConceptPredictor (`segment_text.load_concept_model`: every node resolves
    --checkpoint, a SAM 3 folder on shared storage or the sam3 downloaded there, itself)."""

    writer: ConceptCocoWriter
    _predictor: Any = field(default=None, repr=False)

    def setup(self) -> None:
        """Load the model; raises CheckpointError, MissingDependencyError, ModelStoreError,
        ValueError or OSError."""
        self._predictor = self.load(self.args)
        self.model = self.writer.model_name

    def process(self, index: int, image: Any) -> ItemOutcome:
        """Find the phrases in `image` and write its part; count: the instances found. A part
        already there (an earlier attempt of a retried Ray batch wrote it) is kept."""
        item = self.items[index]
        if self.writer.done(item):
            return ItemOutcome(index)
        try:
            records = find_records(self._predictor, image, self.writer.phrases, self.args.threshold)
        except (ValueError, RuntimeError) as exc:  # e.g. out of device memory
            return ItemOutcome(index, error=f"segmentation failed: {exc}")
        self.writer.write(item, image.shape[:2], records)
        return ItemOutcome(index, count=len(records))
