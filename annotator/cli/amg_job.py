"""`annotator amg`'s work on one image, the same code for the local run and each Ray actor:
read the image, generate its masks, write them with the run's writer (`amg_outputs`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotator.cli.amg_outputs import Writer, make_writer
from annotator.cli.batch_run import ImageItemsJob
from annotator.distributed.jobs import ItemOutcome
from annotator.engine.amg.options import AmgOptions


@dataclass(kw_only=True)
class AmgJob(ImageItemsJob):
    """The images of one `annotator amg` run. Picklable until `setup` (which loads the model),
    so a Ray actor receives it as is. `options`: the generator's. `load(args)` gives the
    predictor (`_common.load_predictor`: every node resolves --checkpoint, a file path or a
    known model name, itself)."""

    root: Path
    options: AmgOptions
    _generator: Any = field(default=None, repr=False)
    _writer: Writer | None = field(default=None, repr=False)

    def make_writer(self, model: str) -> Writer:
        """The run's writer for the output format; `model` goes into COCO provenance."""
        return make_writer(self.args.format, Path(self.args.output), model, self.root, self.items)

    def setup(self) -> None:
        """Load the model and the generator; raises CheckpointError, ValueError or OSError."""
        from annotator.cli._common import model_name
        from annotator.engine.amg import AutomaticMaskGenerator

        predictor = self.load(self.args)
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            self._generator = AutomaticMaskGenerator.from_options(predictor, self.options)
        self.model = model_name(predictor)
        self.warning = self._generator.warning
        self._writer = self.make_writer(self.model)

    @property
    def writer(self) -> Writer:
        assert self._writer is not None, "setup() first"
        return self._writer

    def process(self, index: int, image: Any) -> ItemOutcome:
        """Masks for the (H, W, 3) uint8 RGB `image`, written atomically as the item's output.

        An output already there (an earlier attempt of a retried Ray batch wrote it) is kept."""
        item = self.items[index]
        if self.writer.done(item):
            return ItemOutcome(index)
        try:
            records = self._generator.generate(image)
        except (ValueError, RuntimeError) as exc:  # e.g. out of device memory
            return ItemOutcome(index, error=f"mask generation failed: {exc}")
        self.writer.write(item, image.shape[:2], records)
        return ItemOutcome(index, count=len(records))
