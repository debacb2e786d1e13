"""DAVIS / YouTube-VOS export: per frame one palette PNG whose pixel value is the object id.

Layout (as DAVIS 2017 and YouTube-VOS ship it): ``Annotations/<video>/<frame>.png``, one for
every frame of every video (all 0 where no object is), 8-bit palette PNGs whose index is the
``track_id`` (0 = background), so an object keeps its value over the whole video; the palette
is DAVIS's (the PASCAL VOC colour map), also written to ``palette.txt`` (line i = ``R G B`` of
index i). ``meta.json`` lists each video's objects with their category and the frames they
appear on, as YouTube-VOS's meta.json does. With ``copy_images`` the frames go to
``JPEGImages/<video>/<frame>.jpg``. Where masks overlap, the later annotation is on top.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from annotator.atomic import atomic_write_bytes, atomic_write_text
from annotator.io.formats.common import FormatError, Tally, categories_by_id
from annotator.io.formats.png_export import encode_palette_png
from annotator.io.formats.tracks import Video, frame_stems, sequence_videos
from annotator.io.masks import decode_mask

MAX_OBJECT_ID = 255  # a palette PNG's largest index


def davis_palette() -> list[tuple[int, int, int]]:
    """DAVIS's 256 colours (the PASCAL VOC colour map: the bits of i spread over R, G, B)."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append((r, g, b))
    return palette


def _check_ids(videos: list[Video]) -> None:
    for video in videos:
        for frame in video.frames:
            for object_id, ann in frame.objects:
                if object_id > MAX_OBJECT_ID:
                    raise FormatError(
                        frame.image["file_name"], f"annotation {ann['id']}",
                        f"object id {object_id} does not fit a DAVIS palette PNG "
                        f"(ids 1-{MAX_OBJECT_ID}); renumber the tracks",
                    )  # fmt: skip


def frame_label(image: dict[str, Any], objects: list[tuple[int, dict]], tally: Tally) -> np.ndarray:
    """(H, W) uint8 object-id map of one frame (0 = background; later annotations on top)."""
    label = np.zeros((image["height"], image["width"]), np.uint8)
    for object_id, ann in objects:
        mask = decode_mask(ann["segmentation"])
        if ((label[mask] != 0) & (label[mask] != object_id)).any():
            tally.add("objects overlapping earlier ones (drawn on top)", f"annotation {ann['id']}")
        label[mask] = object_id
    return label


def export_davis(coco: dict[str, Any], out: Path, *, frame_reader: Any = None) -> list[str]:
    """Writes Annotations/, palette.txt and meta.json (and JPEGImages/ when `frame_reader`
    is given: ``frame_reader(image dict) -> encoded JPEG bytes``); returns warning lines."""
    tally = Tally()
    videos = sequence_videos(coco, "davis", tally)
    _check_ids(videos)
    palette = davis_palette()
    category_names = {c["id"]: c["name"] for c in categories_by_id(coco)}
    meta: dict[str, Any] = {"videos": {}}
    for video in videos:
        objects: dict[str, dict[str, Any]] = {}
        for stem, frame in zip(frame_stems(video, "davis"), video.frames, strict=True):
            label = frame_label(frame.image, frame.objects, tally)
            target = out / "Annotations" / video.folder / f"{stem}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, encode_palette_png(label, palette))
            for object_id, ann in frame.objects:
                entry = objects.setdefault(str(object_id), {
                    "category": category_names.get(ann["category_id"], ""), "frames": [],
                })  # fmt: skip
                if not entry["frames"] or entry["frames"][-1] != stem:
                    entry["frames"].append(stem)
            if frame_reader is not None:
                image = out / "JPEGImages" / video.folder / f"{stem}.jpg"
                image.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(image, frame_reader(frame.image))
        meta["videos"][video.folder] = {"video": video.name, "objects": objects}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "palette.txt", "".join(f"{r} {g} {b}\n" for r, g, b in palette))
    atomic_write_text(out / "meta.json", json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    return tally.lines()
