"""The key-frame prompts of `annotator track`: the objects of a project, each with a mask or a
box on one or more frames of the input sequence.

The project is one the app or `annotator segment` wrote (masks), or a COCO file whose
annotations have only a ``bbox`` (boxes). Its images are matched to frames by ``frame_index``
(sequence projects; with several videos, the one named like INPUT), else by file name (the
frame file's name, or a video frame's ``<stem>_<index>`` name). Objects are matched by
``track_id``; an annotation without one is an object of its own (a fresh id). Images without
annotations need not match any frame.

The key frames are the frames asked for (``--key-frames``), else those holding a mask that no
propagation made (no ``propagated`` flag), else every annotated frame: feeding a tracked
project back in with ``--key-frames 0,40`` re-propagates from the frames fixed by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from annotator.io.checks import is_int, is_number
from annotator.io.coco_store import ProjectLoadError, load_project
from annotator.io.records import PROPAGATED_KEY
from annotator.io.sequence import FRAME_KEY, TRACK_KEY, VIDEO_KEY, next_track_id


class PromptsError(ValueError):
    """The prompts file cannot be used; the message names the file, the place and why."""


@dataclass(frozen=True)
class KeyPrompt:
    """One object's prompt on one frame: a (H, W) bool mask, or an XYXY box in frame pixels."""

    object_id: int
    frame_index: int
    category_id: int
    mask: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None
    propagated: bool = False  # made by an earlier propagation (its ``propagated`` flag)


@dataclass(frozen=True)
class Prompts:
    categories: list[dict[str, Any]]  # COCO categories of the prompts file
    prompts: list[KeyPrompt]  # by frame, then object id

    @property
    def key_frames(self) -> list[int]:
        return sorted({p.frame_index for p in self.prompts})

    def category_of(self) -> dict[int, int]:
        """object id -> the category of its first prompt."""
        out: dict[int, int] = {}
        for p in self.prompts:
            out.setdefault(p.object_id, p.category_id)
        return out


def _frame_index(
    path: Path, place: str, image: dict, names: dict[str, int], num_frames: int
) -> int:
    index = image.get(FRAME_KEY)
    if index is None:
        name = PurePosixPath(str(image.get("file_name", "")).replace("\\", "/"))
        for key in (name.as_posix(), name.name, name.stem):
            if key in names:
                return names[key]
        raise PromptsError(
            f"{path}: {place} {image.get('file_name')!r} is not a frame of the input (it has "
            f"no {FRAME_KEY!r}, and no frame has that name)"
        )
    if not is_int(index) or not 0 <= index < num_frames:
        raise PromptsError(f"{path}: {place}.{FRAME_KEY} {index!r} is not a frame of the "
                           f"input (0 to {num_frames - 1})")  # fmt: skip
    return index


def _pick_video(path: Path, images: list[dict], video: str) -> list[dict]:
    """The images of the input's video when the file holds several videos."""
    videos = {im.get(VIDEO_KEY) for im in images if VIDEO_KEY in im}
    if len(videos) <= 1:
        return images
    if video not in videos:
        raise PromptsError(f"{path}: it holds the videos {sorted(videos)}, none named {video!r} "
                           "like the input")  # fmt: skip
    return [im for im in images if im.get(VIDEO_KEY) == video]


def _box(path: Path, place: str, bbox: Any) -> tuple[float, float, float, float]:
    ok = isinstance(bbox, list) and len(bbox) == 4 and all(is_number(v) for v in bbox)
    values = [float(v) for v in bbox] if ok else []
    if not values or min(values[2:]) <= 0:
        raise PromptsError(f"{path}: {place}.bbox must be [x, y, width, height] with a positive "
                           f"size, got {bbox!r}")  # fmt: skip
    x, y, w, h = values
    return (x, y, x + w, y + h)


def _box_only(path: Path, data: Any) -> bool:
    """A COCO dict whose annotations all have a bbox and none a segmentation."""
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        return False
    anns = data["annotations"]
    return bool(anns) and all(
        isinstance(a, dict) and "segmentation" not in a and "bbox" in a for a in anns
    )


def read_prompts(path: Path, frame_names: list[str], video: str) -> Prompts:
    """The prompts in `path` for a sequence whose frames are named `frame_names`, the input
    being called `video` (a folder's or a video file's name). Raises PromptsError."""
    names = {name: i for i, name in enumerate(frame_names)}
    names.update({PurePosixPath(n).stem: i for i, n in enumerate(frame_names)})
    try:
        doc = load_project(path)
    except ProjectLoadError as exc:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise PromptsError(str(exc)) from None
        if not _box_only(path, data):
            raise PromptsError(str(exc)) from None
        return _box_prompts(path, data, names, len(frame_names), video)
    coco = doc.to_coco()
    images = _pick_video(path, coco["images"], video)
    return _collect(path, coco, images, names, len(frame_names), mask_prompts=True)


def _box_prompts(path: Path, data: dict, names: dict, num_frames: int, video: str) -> Prompts:
    images = data.get("images")
    if not isinstance(images, list) or not all(isinstance(im, dict) for im in images):
        raise PromptsError(f"{path}: a COCO file needs an 'images' list")
    for i, ann in enumerate(data["annotations"]):
        for key in ("image_id", "category_id"):
            if not is_int(ann.get(key)):
                raise PromptsError(f"{path}: annotations[{i}].{key} must be an integer")
        if TRACK_KEY in ann and (not is_int(ann[TRACK_KEY]) or ann[TRACK_KEY] < 1):
            raise PromptsError(f"{path}: annotations[{i}].{TRACK_KEY} must be a positive integer")
    data = dict(data, categories=[
        c for c in data.get("categories") or [] if isinstance(c, dict) and is_int(c.get("id"))
    ])  # fmt: skip
    return _collect(path, data, _pick_video(path, images, video), names, num_frames, False)


def _collect(
    path: Path, coco: dict, images: list[dict], names: dict, num_frames: int, mask_prompts: bool
) -> Prompts:
    from annotator.io.masks import decode_mask

    anns = coco["annotations"]
    used = {a["image_id"] for a in anns}
    frame_of: dict[int, int] = {}
    for i, image in enumerate(images):
        if image.get("id") in used:
            frame_of[image["id"]] = _frame_index(path, f"images[{i}]", image, names, num_frames)
    fresh = next_track_id(a[TRACK_KEY] for a in anns if TRACK_KEY in a)
    merged: dict[tuple[int, int], KeyPrompt] = {}
    for i, ann in enumerate(anns):
        if ann["image_id"] not in frame_of:
            continue  # an image of another video
        object_id = ann.get(TRACK_KEY)
        if object_id is None:
            object_id, fresh = fresh, fresh + 1
        key = (frame_of[ann["image_id"]], object_id)
        propagated = bool(ann.get(PROPAGATED_KEY))
        if mask_prompts:
            mask = decode_mask(ann["segmentation"])
            if key in merged:  # two pieces of one object on one frame: one mask
                mask = mask | merged[key].mask  # type: ignore[operator]
                propagated = propagated and merged[key].propagated
            merged[key] = KeyPrompt(object_id, key[0], ann["category_id"], mask, None, propagated)
        elif key in merged:
            raise PromptsError(f"{path}: annotations[{i}] is a second box of object "
                               f"{object_id} on frame {key[0]}")  # fmt: skip
        else:
            box = _box(path, f"annotations[{i}]", ann.get("bbox"))
            merged[key] = KeyPrompt(object_id, key[0], ann["category_id"], None, box, propagated)
    if not merged:
        raise PromptsError(f"{path}: no annotation on a frame of the input: nothing to track")
    prompts = [merged[k] for k in sorted(merged)]
    categories = list(coco.get("categories") or [])
    known = {c["id"] for c in categories}
    for p in prompts:
        if p.category_id not in known:
            categories.append({"id": p.category_id, "name": f"class {p.category_id}"})
            known.add(p.category_id)
    return Prompts(categories, prompts)


def select_key_frames(path: Path, prompts: Prompts, key_frames: list[int] | None) -> Prompts:
    """Only the prompts on the key frames (see the module docstring); PromptsError when the
    frames asked for hold none."""
    if key_frames is not None:
        chosen = set(key_frames)
        kept = [p for p in prompts.prompts if p.frame_index in chosen]
        if not kept:
            raise PromptsError(f"{path}: no annotation on the key frames {sorted(chosen)}")
        return Prompts(prompts.categories, kept)
    by_hand = {p.frame_index for p in prompts.prompts if not p.propagated}
    if not by_hand:
        return prompts
    return Prompts(prompts.categories, [p for p in prompts.prompts if p.frame_index in by_hand])
