"""Binary masks as COCO run-length encodings, built on pycocotools (no hand-rolled RLE).

Masks in memory are (H, W) bool arrays in image pixels, row 0 at the top. On disk and in the
Document they are compressed COCO RLE dicts ``{"size": [H, W], "counts": str}``. Functions taking
an ``Rle`` accept ``counts`` as str or bytes (pycocotools' own output).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

Rle = dict[str, Any]


def _to_bytes_rle(rle: Mapping[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = counts.encode("ascii")
    elif not isinstance(counts, bytes):
        raise ValueError("expected a compressed RLE (counts as str); use compress_rle for lists")
    size = rle["size"]
    return {"size": [int(size[0]), int(size[1])], "counts": counts}


def _to_str_rle(rle: Mapping[str, Any]) -> Rle:
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": counts}


def encode_mask(mask: np.ndarray) -> Rle:
    """(H, W) mask (bool, or any dtype where nonzero = inside) -> compressed RLE, str counts."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W), got shape {mask.shape}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise ValueError(f"mask has no pixels (shape {mask.shape})")
    binary = mask if mask.dtype == bool else mask != 0
    fortran = np.asfortranarray(binary.view(np.uint8))  # pycocotools wants column-major uint8
    return _to_str_rle(mask_utils.encode(fortran))


def rle_pixel_count(counts: str | bytes) -> int:
    """Pixels covered by the runs of a compressed RLE string; -1 when the string is malformed.

    Hand-written because pycocotools checks neither: a short string decodes into uninitialised
    memory and bad characters pass. Reads the format of maskApi.c ``rleFrString`` (5-bit
    groups, the last with a sign bit; run m > 2 is a delta from run m - 2), vectorised.
    """
    raw = counts.encode("ascii", "replace") if isinstance(counts, str) else bytes(counts)
    b = np.frombuffer(raw, np.uint8).astype(np.int64) - 48
    if b.size == 0:
        return 0
    if ((b < 0) | (b >= 64)).any() or b[-1] & 0x20:
        return -1
    ends = np.flatnonzero((b & 0x20) == 0)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts + 1
    if lens.max() > 12:  # more than 60 bits: not a run length
        return -1
    shift = 5 * (np.arange(b.size) - np.repeat(starts, lens))
    vals = np.add.reduceat((b & 0x1F) << shift, starts)
    vals = vals - ((b[ends] & 0x10) != 0) * (np.int64(1) << (5 * lens))
    runs = vals.copy()
    if runs.size > 3:
        runs[3::2] = np.cumsum(vals[3::2]) + vals[1]
    if runs.size > 4:
        runs[4::2] = np.cumsum(vals[4::2]) + vals[2]
    if (runs < 0).any():
        return -1
    return int(runs.sum())


def decode_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """Compressed RLE (str or bytes counts) -> (H, W) bool mask, C-contiguous.

    Raises ValueError when the runs do not cover exactly H*W pixels (a corrupt or truncated
    string), instead of returning pycocotools' garbage for it.
    """
    bytes_rle = _to_bytes_rle(rle)
    h, w = (int(v) for v in bytes_rle["size"])
    covered = rle_pixel_count(bytes_rle["counts"])
    if covered != h * w:
        reason = "is malformed" if covered < 0 else f"covers {covered} pixels, not {h}x{w}"
        raise ValueError(f"corrupt compressed RLE: the counts string {reason}")
    return np.ascontiguousarray(mask_utils.decode(bytes_rle).astype(bool))


def batch_area_bbox(rles: list[Rle]) -> tuple[np.ndarray, np.ndarray]:
    """Areas (N,) and XYWH boxes (N, 4) of many RLEs in two pycocotools calls (no decoding)."""
    if not rles:
        return np.zeros(0, np.int64), np.zeros((0, 4))
    as_bytes = [
        {"size": r["size"], "counts": r["counts"].encode("ascii")}
        if isinstance(r["counts"], str)
        else r
        for r in rles
    ]
    # pycocotools 2.0.11's area() overflows a uint8 counter past 255 RLEs (numpy 2): chunk it.
    areas = np.concatenate(
        [mask_utils.area(as_bytes[i : i + 255]) for i in range(0, len(as_bytes), 255)]
    )
    return areas.astype(np.int64), mask_utils.toBbox(as_bytes)


def mask_area(rle: Mapping[str, Any]) -> int:
    """Number of mask pixels, computed from the RLE without decoding."""
    return int(mask_utils.area(_to_bytes_rle(rle)))


def mask_bbox(rle: Mapping[str, Any]) -> list[float]:
    """Tight box [x, y, w, h] (XYWH, pixel units, top-left origin); [0, 0, 0, 0] when empty."""
    return [float(v) for v in mask_utils.toBbox(_to_bytes_rle(rle))]


def merge_masks(rles: Sequence[Mapping[str, Any]], intersect: bool = False) -> Rle:
    """Union (or intersection) of RLEs of the same size, as a compressed RLE with str counts."""
    if not rles:
        raise ValueError("merge_masks needs at least one RLE")
    sizes = {tuple(int(v) for v in r["size"]) for r in rles}
    if len(sizes) != 1:
        raise ValueError(f"cannot merge masks of different sizes: {sorted(sizes)}")
    merged = mask_utils.merge([_to_bytes_rle(r) for r in rles], intersect=int(intersect))
    return _to_str_rle(merged)


def mask_iou(a: Mapping[str, Any], b: Mapping[str, Any]) -> float:
    """Intersection over union of two same-size RLEs (1.0 when both are empty)."""
    union = mask_area(merge_masks([a, b]))
    if union == 0:
        return 1.0
    return mask_area(merge_masks([a, b], intersect=True)) / union


def compress_rle(rle: Mapping[str, Any]) -> Rle:
    """Uncompressed COCO RLE ``{"size": [H, W], "counts": [int, ...]}`` -> compressed, str counts.

    Counts alternate background/foreground runs in column-major order, starting with background.
    Raises ValueError if the runs are negative or do not add up to H * W.
    """
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        return _to_str_rle(rle)  # already compressed
    runs = np.asarray(counts, dtype=np.int64)
    if runs.ndim != 1 or (runs < 0).any():
        raise ValueError("uncompressed RLE counts must be a flat list of non-negative integers")
    if int(runs.sum()) != height * width:
        raise ValueError(
            f"uncompressed RLE counts add up to {int(runs.sum())}, expected {height}*{width}"
        )
    compressed = mask_utils.frPyObjects({"size": [height, width], "counts": runs.tolist()},
                                        height, width)  # fmt: skip
    return _to_str_rle(compressed)


def rle_from_polygons(
    polygons: Sequence[Sequence[float]], height: int, width: int, *, skip_degenerate: bool = False
) -> Rle:
    """COCO polygons ``[[x0, y0, x1, y1, ...], ...]`` (image pixels) -> one compressed RLE.

    Polygons are rasterised by pycocotools exactly as COCO tools do and unioned. A polygon with
    fewer than 3 points or an odd number of coordinates raises ValueError, or is skipped when
    skip_degenerate=True (an empty RLE results if nothing is left).
    """
    kept = []
    for index, polygon in enumerate(polygons):
        coords = [float(v) for v in polygon]
        if len(coords) % 2 or len(coords) < 6 or not np.all(np.isfinite(coords)):
            if skip_degenerate:
                continue
            raise ValueError(
                f"polygon {index} needs at least 3 finite (x, y) points, got {len(coords)} numbers"
            )
        kept.append(coords)
    if not kept:
        if skip_degenerate:
            return encode_mask(np.zeros((height, width), bool))
        raise ValueError("no polygons given")
    # pycocotools treats a 4-number list as a box, which is why fewer than 6 is refused above.
    rles = mask_utils.frPyObjects(kept, int(height), int(width))
    return _to_str_rle(mask_utils.merge(rles))
