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


RLE_CHECK_CHUNK = 1 << 16
"""Characters decoded per vectorised pass of `rle_pixel_counts`: its int64 temporaries then stay
in the CPU caches; one pass over 10 M characters (10,000 video masks) was 5x slower."""


def rle_pixel_counts(strings: Sequence[str | bytes]) -> np.ndarray:
    """`rle_pixel_count` of many compressed RLE strings at once: (N,) int64, -1 where malformed.

    The strings are concatenated and decoded in vectorised passes of about RLE_CHECK_CHUNK
    characters (runs never cross from one string into the next), so checking 10,000
    annotations costs a few numpy calls per chunk.
    """
    raws = [c.encode("ascii", "replace") if isinstance(c, str) else bytes(c) for c in strings]
    parts, start, size = [], 0, 0
    for i, raw in enumerate(raws):
        size += len(raw)
        if size >= RLE_CHECK_CHUNK:
            parts.append(_pixel_counts(raws[start : i + 1]))
            start, size = i + 1, 0
    parts.append(_pixel_counts(raws[start:]))
    return np.concatenate(parts)


def _pixel_counts(raws: list[bytes]) -> np.ndarray:
    """`rle_pixel_counts` of ASCII strings in one vectorised pass."""
    n = len(raws)
    out = np.zeros(n, np.int64)
    lengths = np.fromiter((len(r) for r in raws), np.int64, n)
    if n == 0 or lengths.sum() == 0:
        return out
    b = np.frombuffer(b"".join(raws), np.uint8).astype(np.int64) - 48
    owner = np.repeat(np.arange(n), lengths)  # string index of each character
    last = np.cumsum(lengths)[lengths > 0] - 1  # last character of each non-empty string
    bad = np.zeros(n, bool)
    bad[owner[(b < 0) | (b >= 64)]] = True
    bad[owner[last[(b[last] & 0x20) != 0]]] = True  # a run continued past the string's end
    b = np.clip(b, 0, 63)
    is_end = (b & 0x20) == 0
    is_end[last] = True
    ends = np.flatnonzero(is_end)
    starts = np.r_[0, ends[:-1] + 1]
    lens = ends - starts + 1
    run_owner = owner[ends]
    bad[run_owner[lens > 12]] = True  # more than 60 bits: not a run length
    lens = np.minimum(lens, 12)
    pos = np.arange(b.size) - np.repeat(starts, ends - starts + 1)
    vals = np.add.reduceat((b & 0x1F) << (5 * np.minimum(pos, 11)), starts)
    vals = vals - ((b[ends] & 0x10) != 0) * (np.int64(1) << (5 * lens))
    # Run m > 2 is a delta from run m - 2: cumulative sums per (string, odd / even >= 2).
    first_run = np.r_[0, np.flatnonzero(run_owner[1:] != run_owner[:-1]) + 1]
    per_string = np.diff(np.r_[first_run, len(ends)])
    m = np.arange(len(ends)) - np.repeat(first_run, per_string)
    odd, even = (m & 1) == 1, ((m & 1) == 0) & (m > 0)
    runs = vals
    for members in (odd, even):
        summed = np.cumsum(vals * members)
        before = np.repeat(summed[first_run] - (vals * members)[first_run], per_string)
        runs = np.where(members, summed - before, runs)
    bad[run_owner[runs < 0]] = True
    out[run_owner[first_run]] = np.add.reduceat(runs, first_run)
    out[bad] = -1
    return out


def annotation_rle(
    mask: np.ndarray | Mapping[str, Any], height: int, width: int, file_name: str
) -> Rle:
    """The compressed RLE an annotation of a ``height`` x ``width`` image stores for ``mask``
    ((H, W) bool array, or an RLE); ValueError for another size or an empty mask."""
    if isinstance(mask, Mapping):
        rle = {"size": [int(v) for v in mask["size"]], "counts": mask["counts"]}
        if isinstance(rle["counts"], bytes):
            rle["counts"] = rle["counts"].decode("ascii")
        shape = tuple(rle["size"])
    else:
        shape = np.shape(mask)
        rle = None
    if shape != (height, width):
        raise ValueError(
            f"mask shape {shape} does not match image {file_name!r} ({height}, {width})"
        )
    rle = rle if rle is not None else encode_mask(mask)  # type: ignore[arg-type]
    if mask_area(rle) == 0:
        raise ValueError("the mask is empty (delete the annotation instead of emptying it)")
    return rle


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


POLYGON_MARGIN = 4.0
"""Polygon vertices may lie up to POLYGON_MARGIN * max(width, height) pixels outside the image;
such polygons are rasterised untouched. Polygons reaching further are first clipped to that
band (`clip_polygon`), so hostile coordinates such as 1e9 cannot overflow or exhaust memory."""
MAX_POLYGON_OUTLINE = 4_000_000
"""Longest accepted outline (sum of max(|dx|, |dy|) over edges, px, after clipping) of one
annotation's polygons: pycocotools needs about 120 bytes per outline pixel (480 MB here)."""


def _clip_half_plane(xy: np.ndarray, axis: int, bound: float, keep_below: bool) -> np.ndarray:
    """One Sutherland-Hodgman step: the part of the closed polygon xy (N, 2) on one side."""
    if len(xy) == 0:
        return xy
    value = xy[:, axis]
    inside = value <= bound if keep_below else value >= bound
    if inside.all():
        return xy
    nxt = np.roll(xy, -1, axis=0)
    nxt_inside = np.roll(inside, -1)
    out: list[np.ndarray] = []
    for p, q, p_in, q_in in zip(xy, nxt, inside, nxt_inside, strict=True):
        if p_in:
            out.append(p)
        if p_in != q_in:
            t = (bound - p[axis]) / (q[axis] - p[axis])
            point = p + t * (q - p)
            point[axis] = bound  # exact on the boundary despite rounding
            out.append(point)
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def clip_polygon(xy: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, 2) xy vertices (image px) -> (M, 2) vertices inside the image plus POLYGON_MARGIN.

    A polygon already inside that band is returned unchanged, so its raster is exactly
    what it was. Otherwise it is clipped to the band (Sutherland-Hodgman against a box, exact
    for any simple polygon up to float rounding): the new vertices lie a margin away from the
    image, so the in-image pixels stay those of the unclipped polygon (an edge aimed at a far
    vertex can move by a fraction of a pixel where rasterisers round its slope). M may be 0
    when the polygon lies entirely beyond the band. Non-finite input raises ValueError.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not np.all(np.isfinite(xy)):
        raise ValueError("polygon coordinates must be finite numbers")
    margin = POLYGON_MARGIN * max(int(height), int(width))
    lo_x, lo_y, hi_x, hi_y = -margin, -margin, width + margin, height + margin
    if len(xy) == 0 or (
        xy[:, 0].min() >= lo_x and xy[:, 0].max() <= hi_x
        and xy[:, 1].min() >= lo_y and xy[:, 1].max() <= hi_y
    ):  # fmt: skip
        return xy
    for axis, bound, keep_below in ((0, lo_x, False), (0, hi_x, True), (1, lo_y, False),
                                    (1, hi_y, True)):  # fmt: skip
        xy = _clip_half_plane(xy, axis, bound, keep_below)
    return xy


def bound_shape_points(points: Any, kind: str, height: int, width: int) -> Any:
    """LabelMe ``points`` of a shape with hostile coordinates brought within the margin band.

    polygon: `clip_polygon` (3 points outside the image when nothing is left); rectangle:
    corners clamped to the band (exact: the band holds the image); circle: a radius beyond the
    band's diagonal is shortened to it (still covering the whole band); a centre beyond the
    band raises ValueError. Anything else, and points that are not finite (N, 2) numbers, are
    returned unchanged for the caller's own checks.
    """
    try:
        xy = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        return points
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) == 0 or not np.all(np.isfinite(xy)):
        return points
    margin = POLYGON_MARGIN * max(int(height), int(width))
    lo, hi = np.array([-margin, -margin]), np.array([width + margin, height + margin])
    if kind == "polygon":
        clipped = clip_polygon(xy, height, width)
        if clipped.shape == xy.shape and np.array_equal(clipped, xy):
            return points
        return clipped.tolist() if len(clipped) >= 3 else [[-1.0, -1.0]] * 3
    if kind == "rectangle" and len(xy) == 2:
        return np.clip(xy, lo, hi).tolist()
    if kind == "circle" and len(xy) == 2:
        centre, rim = xy
        if np.any(centre < lo) or np.any(centre > hi):
            raise ValueError(
                f"circle centre {centre.tolist()} lies more than {margin:g} px outside the image"
            )
        radius, limit = float(np.hypot(*(rim - centre))), float(np.hypot(*(hi - lo)))
        if radius > limit:
            return [centre.tolist(), [centre[0] + limit, centre[1]]]
    return points


def _outline(polygon: list[float]) -> float:
    xy = np.asarray(polygon).reshape(-1, 2)
    return float(np.abs(np.roll(xy, -1, axis=0) - xy).max(axis=1).sum())


def rle_from_polygons(
    polygons: Sequence[Sequence[float]], height: int, width: int, *, skip_degenerate: bool = False
) -> Rle:
    """COCO polygons ``[[x0, y0, x1, y1, ...], ...]`` (image pixels) -> one compressed RLE.

    Polygons are rasterised by pycocotools exactly as COCO tools do and unioned, after
    `clip_polygon` (a no-op unless vertices lie beyond POLYGON_MARGIN). A polygon with
    fewer than 3 points or an odd number of coordinates raises ValueError, or is skipped when
    skip_degenerate=True (an empty RLE results if nothing is left); so does an outline longer
    than MAX_POLYGON_OUTLINE. A polygon clipped away entirely adds nothing.
    """
    kept = []
    given = 0
    for index, polygon in enumerate(polygons):
        coords = [float(v) for v in polygon]
        if len(coords) % 2 or len(coords) < 6 or not np.all(np.isfinite(coords)):
            if skip_degenerate:
                continue
            raise ValueError(
                f"polygon {index} needs at least 3 finite (x, y) points, got {len(coords)} numbers"
            )
        clipped = clip_polygon(np.array(coords).reshape(-1, 2), height, width)
        given += 1
        if len(clipped) >= 3:  # else: entirely beyond the margin, nothing in the image
            kept.append(clipped.ravel().tolist())
    outline = sum(_outline(p) for p in kept)
    if outline > MAX_POLYGON_OUTLINE:
        raise ValueError(
            f"polygon outline is {outline:.0f} px long (the limit is {MAX_POLYGON_OUTLINE} px)"
        )
    if not kept:
        if skip_degenerate or given:
            return encode_mask(np.zeros((height, width), bool))
        raise ValueError("no polygons given")
    # pycocotools treats a 4-number list as a box, which is why fewer than 6 is refused above.
    rles = mask_utils.frPyObjects(kept, int(height), int(width))
    return _to_str_rle(mask_utils.merge(rles))
