"""The automatic mask generator's parameters, written once: `AutomaticMaskGenerator`'s keyword
defaults and the `annotator amg` flags (names, defaults, help) both come from `AmgOptions`.

Defaults are those of segment-anything's ``SamAutomaticMaskGenerator``. Each field's metadata
holds its one-line ``help``; ``cli=False`` marks a field the command line does not offer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _opt(default: Any, help: str, *, cli: bool = True) -> Any:
    return field(default=default, metadata={"help": help, "cli": cli})


@dataclass(frozen=True)
class AmgOptions:
    """Keyword arguments of `AutomaticMaskGenerator` other than the model and ``point_grids``."""

    points_per_side: int | None = _opt(32, "grid points along one side of the image")
    points_per_batch: int = _opt(64, "points sent through the decoder at once")
    pred_iou_thresh: float = _opt(0.88, "drop masks whose predicted IoU is below this")
    stability_score_thresh: float = _opt(0.95, "drop masks less stable than this")
    stability_score_offset: float = _opt(1.0, "logit offset for the stability score")
    box_nms_thresh: float = _opt(0.7, "box IoU above which duplicate masks are removed")
    crop_n_layers: int = _opt(0, "also run on 2^i x 2^i crops for i = 1..N")
    crop_nms_thresh: float = _opt(0.7, "box NMS threshold between crops")
    crop_overlap_ratio: float = _opt(512 / 1500, "overlap of neighbouring crops")
    crop_n_points_downscale_factor: int = _opt(1, "points per side shrink by this per layer")
    min_mask_region_area: int = _opt(0, "fill holes / drop islands smaller than this (px)")
    output_mode: str = _opt("binary_mask", "binary_mask, uncompressed_rle or coco_rle", cli=False)

    def as_kwargs(self) -> dict[str, object]:
        """The fields as `AutomaticMaskGenerator` keyword arguments."""
        return asdict(self)


DEFAULTS = AmgOptions()
