"""The automatic mask generator's parameters, written once: `AutomaticMaskGenerator`'s keyword
defaults and the `annotator amg` flags (names, defaults, help) both come from `AmgOptions`.

Defaults are those of the reference generator of the model's family: segment-anything's
``SamAutomaticMaskGenerator`` for SAM 1 models, sam2's ``SAM2AutomaticMaskGenerator`` for
SAM 2.1. Where the two differ, the field's default is ``None`` ("the family's default") and
`FAMILY_DEFAULTS` holds the value per family; `resolved` fills them in. Each field's metadata
holds its one-line ``help``; ``cli=False`` marks a field the command line does not offer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

FAMILIES = {"sam": "SAM", "sam2": "SAM 2.1"}
"""Model family key -> the name users know it by."""

FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "sam": {"pred_iou_thresh": 0.88},  # segment-anything 1.0 SamAutomaticMaskGenerator
    "sam2": {"pred_iou_thresh": 0.8},  # sam2 1.1.0 SAM2AutomaticMaskGenerator
}
"""The defaults that differ between the families' reference generators (the one table)."""


def family_of(model: Any) -> str:
    """ "sam2" for a SAM 2 network (ours or Meta's: both have ``sam_mask_decoder``), else "sam"."""
    return "sam2" if hasattr(model, "sam_mask_decoder") else "sam"


def _opt(default: Any, help: str, *, cli: bool = True, kind: type | None = None) -> Any:
    """A field; ``kind`` is the value type where the default (None: per family) cannot say it."""
    kind = kind or type(default)
    return field(default=default, metadata={"help": help, "cli": cli, "type": kind})


@dataclass(frozen=True)
class AmgOptions:
    """Keyword arguments of `AutomaticMaskGenerator` other than the model and ``point_grids``."""

    points_per_side: int | None = _opt(32, "grid points along one side of the image")
    points_per_batch: int = _opt(64, "points sent through the decoder at once")
    pred_iou_thresh: float | None = _opt(
        None, "drop masks whose predicted IoU is below this", kind=float
    )
    stability_score_thresh: float = _opt(0.95, "drop masks less stable than this")
    stability_score_offset: float = _opt(1.0, "logit offset for the stability score")
    box_nms_thresh: float = _opt(0.7, "box IoU above which duplicate masks are removed")
    crop_n_layers: int = _opt(0, "also run on 2^i x 2^i crops for i = 1..N")
    crop_nms_thresh: float = _opt(0.7, "box NMS threshold between crops")
    crop_overlap_ratio: float = _opt(512 / 1500, "overlap of neighbouring crops")
    crop_n_points_downscale_factor: int = _opt(1, "points per side shrink by this per layer")
    min_mask_region_area: int = _opt(0, "fill holes / drop islands smaller than this (px)")
    output_mode: str = _opt("binary_mask", "binary_mask, uncompressed_rle or coco_rle", cli=False)
    mask_threshold: float = _opt(0.0, "logit above which a pixel is in the mask")
    multimask_output: bool = _opt(
        True, "three masks per point (off: one, SAM 2 picks by stability)"
    )
    use_m2m: bool = _opt(False, "refine each mask once, fed back with its point (SAM 2's m2m)")

    def as_kwargs(self) -> dict[str, object]:
        """The fields as `AutomaticMaskGenerator` keyword arguments."""
        return asdict(self)

    def resolved(self, family: str) -> AmgOptions:
        """These options with every per-family default (None) set to `family`'s value."""
        if family not in FAMILY_DEFAULTS:
            raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
        unset = {f.name for f in fields(self) if getattr(self, f.name) is None}
        return replace(self, **{k: v for k, v in FAMILY_DEFAULTS[family].items() if k in unset})


def default_text(name: str) -> str:
    """A field's default in words for help texts: "0.95", or "0.88 for SAM, 0.8 for SAM 2.1"."""
    per_family = [(FAMILIES[k], d[name]) for k, d in FAMILY_DEFAULTS.items() if name in d]
    if per_family:
        return ", ".join(f"{value:g} for {label}" for label, value in per_family)
    value = next(f.default for f in fields(AmgOptions) if f.name == name)
    return ("on" if value else "off") if isinstance(value, bool) else f"{value:g}"


DEFAULTS = AmgOptions()
