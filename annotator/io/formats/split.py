"""Dataset splits by image: parse ``train=0.8,val=0.2`` and assign images deterministically;
the frames of one video always go to the same part (neighbouring frames in train and val would
leak the answers)."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from annotator.io.sequence import frame_of

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class SplitSpecError(ValueError):
    """A ``--split`` value that cannot be used; the message says which part and why."""


def parse_split(spec: str) -> list[tuple[str, float]]:
    """``"train=0.8,val=0.2"`` -> [("train", 0.8), ("val", 0.2)].

    Names become folder names, so they are plain (letters, digits, ``_.-``) and unique;
    fractions are positive and add up to 1 (±1e-6).
    """
    parts: list[tuple[str, float]] = []
    for raw in spec.split(","):
        item = raw.strip()
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SplitSpecError(f"split part {item!r} is not NAME=FRACTION (in {spec!r})")
        if not _NAME.match(name) or name in {".", ".."}:
            raise SplitSpecError(f"split name {name!r} must be letters, digits, '_', '-' or '.'")
        if any(name == seen for seen, _ in parts):
            raise SplitSpecError(f"split name {name!r} appears twice in {spec!r}")
        try:
            fraction = float(value)
        except ValueError:
            raise SplitSpecError(
                f"split fraction {value.strip()!r} for {name!r} is not a number"
            ) from None
        if not math.isfinite(fraction) or fraction <= 0:
            raise SplitSpecError(f"split fraction for {name!r} must be > 0, got {value.strip()}")
        parts.append((name, fraction))
    total = sum(f for _, f in parts)
    if abs(total - 1.0) > 1e-6:
        raise SplitSpecError(f"split fractions must add up to 1, got {total:g} in {spec!r}")
    return parts


def split_counts(n: int, fractions: Sequence[float]) -> list[int]:
    """Splits ``n`` items by ``fractions`` (largest remainder; ties go to the earlier part)."""
    exact = [n * f for f in fractions]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts


def assign_split(
    image_ids: Iterable[int], parts: Sequence[tuple[str, float]], seed: int
) -> dict[str, list[int]]:
    """Maps each split name to its image ids (sorted).

    Deterministic for a seed: the sorted ids are shuffled with ``random.Random(seed)`` and cut
    into consecutive runs sized by ``split_counts``, so the result does not depend on the order
    the ids come in.
    """
    ids = sorted(set(image_ids))
    random.Random(seed).shuffle(ids)
    out: dict[str, list[int]] = {}
    start = 0
    for (name, _), count in zip(parts, split_counts(len(ids), [f for _, f in parts]), strict=True):
        out[name] = sorted(ids[start : start + count])
        start += count
    return out


def assign_split_by_video(
    images: Iterable[Mapping[str, Any]], parts: Sequence[tuple[str, float]], seed: int
) -> dict[str, list[int]]:
    """`assign_split` of COCO images whose units are the videos (all their frames together) and
    the images that are not frames; the fractions count units. A project without videos is
    split exactly as `assign_split` splits its image ids."""
    units: dict[int, list[int]] = {}
    first_of: dict[str, int] = {}
    for image in sorted(images, key=lambda im: im["id"]):
        frame = frame_of(image)
        unit = image["id"] if frame is None else first_of.setdefault(frame[0], image["id"])
        units.setdefault(unit, []).append(image["id"])
    chosen = assign_split(units, parts, seed)
    return {name: sorted(i for u in ids for i in units[u]) for name, ids in chosen.items()}
