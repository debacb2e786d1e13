"""Sequences in a project: frames are COCO images with ``video`` and ``frame_index`` keys, and
each annotation of a tracked object carries a ``track_id``.

The one home of the sequence keys and their rules, used by the document (edits), the validator
(files) and the exporters (davis, mot):
- ``video``: a non-empty string naming the sequence (a frame folder's name, or a video file's
  path relative to the images root);
- ``frame_index``: the 0-based position of the frame in that sequence; a frame has both keys or
  neither, and no two images share a (video, frame_index);
- ``track_id``: a positive integer, the object's id over the whole sequence (the index of the
  object in DAVIS PNGs, the id column of MOT files).

Frames of a video file have no image file of their own: their file_name is where the frame
would be extracted (`video_frame_name`), and readers decode it from the video.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from annotator.io.checks import is_int

VIDEO_KEY = "video"
FRAME_KEY = "frame_index"
TRACK_KEY = "track_id"
MAX_TRACK_ID = 2**31 - 1  # what 32-bit id columns of other tools hold


def frame_keys_problem(image: Mapping[str, Any]) -> tuple[str, str] | None:
    """(key, reason) for the first broken sequence key of an image's entries, or None."""
    has_video, has_frame = VIDEO_KEY in image, FRAME_KEY in image
    if not has_video and not has_frame:
        return None
    if has_video != has_frame:
        missing = FRAME_KEY if has_video else VIDEO_KEY
        return missing, f"frames need both {VIDEO_KEY!r} and {FRAME_KEY!r}: {missing!r} is missing"
    video, index = image[VIDEO_KEY], image[FRAME_KEY]
    if not isinstance(video, str) or not video.strip():
        return VIDEO_KEY, f"must be a non-empty string naming the sequence, got {video!r}"
    if not is_int(index) or index < 0:
        return FRAME_KEY, f"must be an integer >= 0, got {index!r}"
    return None


def track_id_problem(value: Any) -> str | None:
    """Why `value` is not a valid track_id, or None."""
    if not is_int(value) or not 1 <= value <= MAX_TRACK_ID:
        return f"must be an integer from 1 to {MAX_TRACK_ID}, got {value!r}"
    return None


def check_frame_keys(file_name: str, image: Mapping[str, Any]) -> tuple[str, int] | None:
    """The image's (video, frame_index), None for a plain image; ValueError naming the image
    and the key when they are broken."""
    problem = frame_keys_problem(image)
    if problem is not None:
        raise ValueError(f"image {file_name!r}: {problem[0]} {problem[1]}")
    return frame_of(image)


def check_track_id(value: Any) -> int:
    problem = track_id_problem(value)
    if problem is not None:
        raise ValueError(f"{TRACK_KEY} {problem}")
    return int(value)


def frame_of(image: Mapping[str, Any]) -> tuple[str, int] | None:
    """(video, frame_index) of an image's entries (already checked), or None."""
    if VIDEO_KEY not in image:
        return None
    return image[VIDEO_KEY], image[FRAME_KEY]


def frame_taken(frame: tuple[str, int], owner: Any) -> str:
    """The message for a second image claiming a (video, frame_index) that `owner` holds."""
    return f"frame {frame[1]} of video {frame[0]!r} is already image {owner}"


def video_frame_name(video: str, index: int) -> str:
    """The file_name of frame `index` of a video file, where an extraction puts it
    (``clips/run.mp4`` -> ``clips/run/00012.jpg``); DAVIS numbering (5 digits, more if needed)."""
    path = PurePosixPath(video)
    return (path.parent / path.stem / f"{index:05d}.jpg").as_posix()


def group_frames(images: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """video -> its COCO image dicts in frame order; images without the keys are left out."""
    videos: dict[str, list[Mapping[str, Any]]] = {}
    for image in images:
        frame = frame_of(image)
        if frame is not None:
            videos.setdefault(frame[0], []).append(image)
    for frames in videos.values():
        frames.sort(key=lambda im: im[FRAME_KEY])
    return videos


def next_track_id(track_ids: Iterable[int]) -> int:
    """One more than the largest track_id in use (1 when none is)."""
    return max(track_ids, default=0) + 1
