"""PNG mask export: per image a 16-bit instance-id PNG and a palette semantic PNG.

Layout: ``instances/<stem>.png`` (uint16; 0 = background, 1..K = the image's annotations in
id order), ``semantic/<stem>.png`` (8-bit palette; 0 = background, i = class i, palette from
the category colours), ``classes.txt`` (line i = name of class i, line 0 ``_background_``) and,
with ``copy_images``, ``images/``. Where masks overlap the later annotation (higher id) is on
top in both PNGs, counted in a warning.

OpenCV cannot write palette PNGs, so the semantic PNG uses Pillow (installed with
torchvision), imported only when this export runs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.atomic import atomic_write_bytes, atomic_write_text
from annotator.io.formats.common import (
    FormatError,
    Tally,
    annotations_by_image,
    categories_by_id,
    output_names,
)
from annotator.io.masks import decode_mask

BACKGROUND = "_background_"
_MAX_INSTANCES = 65535
_MAX_CLASSES = 255
# Used for categories without a valid "#rrggbb" colour; distinct, readable hues.
_FALLBACK = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0"]


def _rgb(color: Any, index: int) -> tuple[int, int, int]:
    if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
        color = _FALLBACK[index % len(_FALLBACK)]
    try:
        return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
    except ValueError:
        return _rgb(None, index)


def _encode_png_uint16(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("OpenCV failed to encode a 16-bit PNG")
    return buf.tobytes()


def encode_palette_png(index: np.ndarray, palette: list[tuple[int, int, int]]) -> bytes:
    """An 8-bit palette PNG of a (H, W) uint8 index image; palette[i] is the RGB of index i."""
    try:
        from PIL import Image  # lazy: only this export needs Pillow
    except ImportError as exc:
        raise FormatError(
            "png export", None, "needs Pillow for palette PNGs (pip install pillow)"
        ) from exc
    image = Image.fromarray(index).convert("P")
    flat = [v for rgb in palette for v in rgb]
    image.putpalette(flat + [0] * (768 - len(flat)))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def check_class_count(coco: dict[str, Any]) -> None:
    """Raises FormatError when the categories do not fit a palette PNG (255 + background)."""
    count = len(coco.get("categories", []))
    if count > _MAX_CLASSES:
        raise FormatError(
            "png export", None, f"{count} categories; a palette PNG holds {_MAX_CLASSES}"
        )


def export_png(coco: dict[str, Any], out: Path) -> list[str]:
    """Writes the instance and semantic PNGs and classes.txt; returns warning lines."""
    tally = Tally()
    categories = categories_by_id(coco)
    check_class_count(coco)
    names = output_names(coco, ".png")
    class_value = {c["id"]: i + 1 for i, c in enumerate(categories)}
    palette = [(0, 0, 0)] + [_rgb(c.get("color"), i) for i, c in enumerate(categories)]
    by_image = annotations_by_image(coco)
    for im in coco["images"]:
        anns = by_image[im["id"]]
        if len(anns) > _MAX_INSTANCES:
            raise FormatError(
                im["file_name"],
                None,
                f"{len(anns)} annotations; a 16-bit PNG holds {_MAX_INSTANCES}",
            )
        instances = np.zeros((im["height"], im["width"]), dtype=np.uint16)
        semantic = np.zeros((im["height"], im["width"]), dtype=np.uint8)
        for k, ann in enumerate(anns, start=1):
            mask = decode_mask(ann["segmentation"])
            if (instances[mask] != 0).any():
                tally.add(
                    "annotations overlapping earlier ones (drawn on top)", f"annotation {ann['id']}"
                )
            instances[mask] = k
            semantic[mask] = class_value[ann["category_id"]]
        for folder, data in (
            ("instances", _encode_png_uint16(instances)),
            ("semantic", encode_palette_png(semantic, palette)),
        ):
            target = out / folder / names[im["id"]]
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        out / "classes.txt", "\n".join([BACKGROUND] + [c["name"] for c in categories]) + "\n"
    )
    return tally.lines()
