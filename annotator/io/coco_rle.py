"""A COCO RLE segmentation checked against its image: one set of rules for every reader.

Both the COCO import and the evaluation's ground truth read other tools' RLE dicts, and
pycocotools checks none of this: ``size`` must be the image's ``[height, width]``; ``counts``
is a list of non-negative run lengths or a compressed string, and either way the runs must
cover exactly height x width pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotator.io.checks import is_int
from annotator.io.masks import Rle, compress_rle, rle_pixel_count


class RleFieldError(ValueError):
    """Why an RLE segmentation is refused; ``field`` is where: ``".size"`` or ``".counts"``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def checked_coco_rle(seg: Mapping[str, Any], height: int, width: int) -> Rle:
    """A COCO RLE dict of an (height, width) image -> compressed RLE with str counts.

    Raises RleFieldError naming the field and what is wrong with it.
    """
    size, counts = seg.get("size"), seg.get("counts")
    if not (isinstance(size, list) and len(size) == 2 and all(is_int(v) for v in size)):
        raise RleFieldError(".size", f"must be [height, width], got {size!r}")
    if list(size) != [height, width]:
        raise RleFieldError(
            ".size", f"{size} does not match the image's [height, width] [{height}, {width}]"
        )
    pixels = height * width
    if isinstance(counts, list):
        if not all(is_int(v) and v >= 0 for v in counts):
            raise RleFieldError(".counts", "uncompressed RLE counts must be non-negative integers")
        if sum(counts) != pixels:
            raise RleFieldError(
                ".counts", f"runs add up to {sum(counts)} pixels, the image has {pixels}"
            )
        return compress_rle({"size": [height, width], "counts": counts})
    if not isinstance(counts, str):
        raise RleFieldError(
            ".counts", f"must be a string or a list of integers, got {type(counts).__name__}"
        )
    total = rle_pixel_count(counts)
    if total < 0:
        raise RleFieldError(".counts", "malformed compressed RLE string")
    if total != pixels:
        raise RleFieldError(".counts", f"runs add up to {total} pixels, the image has {pixels}")
    return {"size": [height, width], "counts": counts}
