"""What the sequence exporters (davis, mot) share: the project's videos, each frame's objects by
track id, and one output folder name per video.

Annotations without a ``track_id`` on a frame become objects of their own (fresh ids above the
largest track id in use) and are counted in a warning, so nothing is left out of an export.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from annotator.io.formats.common import FormatError, Tally, annotations_by_image
from annotator.io.frames import is_video_file
from annotator.io.sequence import FRAME_KEY, TRACK_KEY, VIDEO_KEY, group_frames, next_track_id


@dataclass(frozen=True)
class Frame:
    """One frame of a video: its COCO image and its (object id, annotation) pairs in id order."""

    image: dict[str, Any]
    objects: list[tuple[int, dict[str, Any]]]

    @property
    def index(self) -> int:
        return self.image[FRAME_KEY]


@dataclass(frozen=True)
class Video:
    name: str  # the project's ``video`` key
    folder: str  # its output folder name (`folder_names`)
    frames: list[Frame]

    @property
    def length(self) -> int:
        """Frames in the sequence: one more than the last frame index."""
        return self.frames[-1].index + 1


def folder_names(videos: list[str], fmt: str) -> dict[str, str]:
    """video -> output folder: the last path part, without a video file's extension
    (``clips/run.mp4`` -> ``run``, ``frames/bear`` -> ``bear``). FormatError if two clash."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for video in videos:
        path = PurePosixPath(video.replace("\\", "/"))
        name = path.stem if is_video_file(path) else path.name
        if not name or name in (".", ".."):
            raise FormatError(f"{fmt} export", None, f"video {video!r} gives no folder name")
        if name in owner:
            raise FormatError(
                f"{fmt} export", None, f"videos {owner[name]!r} and {video!r} would both be "
                f"exported to the folder {name!r}; rename one",
            )  # fmt: skip
        owner[name] = video
        out[video] = name
    return out


def sequence_videos(coco: dict[str, Any], fmt: str, tally: Tally) -> list[Video]:
    """The project's videos in name order, their frames in frame order.

    Raises FormatError when the project has images that are not sequence frames (the format
    has no place for them). Untracked annotations get fresh object ids (see module docstring).
    """
    plain = [i for i, im in enumerate(coco["images"]) if VIDEO_KEY not in im]
    if plain:
        first = coco["images"][plain[0]]
        raise FormatError(
            f"{fmt} export", f"images[{plain[0]}]",
            f"{first['file_name']!r} is not a sequence frame (no {VIDEO_KEY!r} and "
            f"{FRAME_KEY!r}); {fmt} holds videos only, {len(plain)} such image(s)",
        )  # fmt: skip
    anns = coco.get("annotations", [])
    fresh = next_track_id(a[TRACK_KEY] for a in anns if TRACK_KEY in a)
    by_image = annotations_by_image(coco)
    grouped = group_frames(coco["images"])
    names = folder_names(sorted(grouped), fmt)
    videos = []
    for video in sorted(grouped):
        frames = []
        for image in grouped[video]:
            objects = []
            for ann in by_image[image["id"]]:
                if TRACK_KEY in ann:
                    objects.append((int(ann[TRACK_KEY]), ann))
                    continue
                tally.add("annotations without a track_id exported as objects of their own",
                          f"annotation {ann['id']} as object {fresh}")  # fmt: skip
                objects.append((fresh, ann))
                fresh += 1
            frames.append(Frame(dict(image), objects))
        videos.append(Video(video, names[video], frames))
    return videos


def frame_stems(video: Video, fmt: str) -> list[str]:
    """Each frame's output name: its file's stem (``clip/00012.jpg`` -> ``00012``), so label
    files pair with the frames' images. FormatError if two frames share a stem."""
    stems: dict[str, str] = {}
    for frame in video.frames:
        name = frame.image["file_name"]
        stem = PurePosixPath(name).stem
        if stem in stems:
            raise FormatError(
                name, None, f"frames {stems[stem]!r} and {name!r} of video {video.name!r} "
                f"would share the {fmt} file {stem!r}; rename one",
            )  # fmt: skip
        stems[stem] = name
    return list(stems)
