"""A sequence on disk as project frames, and back: how the frames of a frame folder or a video
file become the images of a project (`FrameLayout`, `sequence_document`), and how a project's
frame gets its pixels again (`FramePixels`).

- A frame folder is the images root; each frame keeps its own file; ``video`` is the folder's
  name.
- A video file's folder is the images root; ``video`` is the file's name; frame i has no file
  of its own and is named where an extraction puts it (`sequence.video_frame_name`); its
  pixels are decoded from the video, or read from that file once `extract_frames` wrote it
  (what the app does: it shows frames from files).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.atomic import atomic_write_bytes
from annotator.io.coco_store import load_project, save_project
from annotator.io.document import Document
from annotator.io.frames import FrameSource, open_frames
from annotator.io.images import read_image
from annotator.io.sequence import FRAME_KEY, VIDEO_KEY, video_frame_name

JPEG_QUALITY = 95


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """JPEG bytes (quality JPEG_QUALITY) of an (H, W, 3) uint8 RGB image."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buf.tobytes()


@dataclass(frozen=True)
class FrameLayout:
    """How a sequence's frames appear in a project."""

    images_root: Path
    video: str  # the ``video`` key of every frame
    file_names: list[str]  # frame i's file_name, relative to images_root
    size: tuple[int, int]  # (H, W) of the frames (those of frame 0)


def frame_layout(path: str | os.PathLike[str], source: FrameSource) -> FrameLayout:
    """The layout of `source`, opened from `path` (see the module docstring)."""
    first = source[0]
    size = (int(first.shape[0]), int(first.shape[1]))
    path = Path(path).resolve()
    if path.is_dir():
        return FrameLayout(path, path.name, list(source.names), size)
    names = [video_frame_name(path.name, i) for i in range(len(source))]
    return FrameLayout(path.parent, path.name, names, size)


def sequence_document(
    path: str | os.PathLike[str], categories: list[str] | None = None
) -> tuple[Document, FrameSource]:
    """A new project holding every frame of the video or frame folder at `path` (no labels
    yet), and the frame source. Raises FrameSourceError (a ValueError) naming the input."""
    source = open_frames(path)
    layout = frame_layout(path, source)
    doc = Document(layout.images_root, categories=categories)
    h, w = layout.size
    for i, name in enumerate(layout.file_names):
        doc.add_image(name, w, h, **{VIDEO_KEY: layout.video, FRAME_KEY: i})
    doc.mark_clean(doc.revision)
    return doc, source


class FramePixels:
    """``(H, W, 3) uint8 RGB`` of a project's images and frames under `images_root`: from the
    image's own file, else (a frame of a video file) decoded from the video, one open source
    per video."""

    def __init__(self, images_root: str | os.PathLike[str]) -> None:
        self.images_root = Path(images_root)
        self._videos: dict[str, FrameSource] = {}

    def missing(self, image: dict[str, Any]) -> str | None:
        """Why the pixels of `image` (a COCO image dict) cannot be had, or None."""
        if (self.images_root / image["file_name"]).is_file():
            return None
        if VIDEO_KEY not in image:
            return f"the image file does not exist under {self.images_root}"
        video = image.get(VIDEO_KEY)
        if video is not None and (self.images_root / video).is_file():
            return None
        return f"neither the frame's file nor its video {video!r} exists under {self.images_root}"

    def read(self, image: dict[str, Any]) -> np.ndarray:
        """The pixels, checked against the declared size (ValueError naming the file)."""
        size = (image["width"], image["height"])
        path = self.images_root / image["file_name"]
        if path.is_file() or VIDEO_KEY not in image:
            return read_image(path, size)
        video = image[VIDEO_KEY]
        if video not in self._videos:
            self._videos[video] = open_frames(self.images_root / video)
        frame = self._videos[video][image[FRAME_KEY]]
        if (frame.shape[1], frame.shape[0]) != size:
            raise ValueError(f"frame {image[FRAME_KEY]} of {video} is {frame.shape[1]}x"
                             f"{frame.shape[0]}, the project says {size[0]}x{size[1]}")  # fmt: skip
        return frame

    def close(self) -> None:
        for source in self._videos.values():
            source.close()
        self._videos.clear()


def extract_frames(
    video: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None
) -> Path:
    """Write every frame of a video file as JPEG where its project names it (``clip.mp4`` ->
    ``clip/00000.jpg`` ...), each atomically; frames already there are kept, so an interrupted
    extraction continues. progress(done, total) after each frame. Returns the folder."""
    source = open_frames(video)
    layout = frame_layout(video, source)
    try:
        for i, name in enumerate(layout.file_names):
            target = layout.images_root / name
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, encode_jpeg(source[i]))
            if progress is not None:
                progress(i + 1, len(layout.file_names))
    finally:
        source.close()
    return (layout.images_root / layout.file_names[0]).parent


def sequence_project(path: str | os.PathLike[str], project: str | os.PathLike[str]) -> Document:
    """The project file `project` of the sequence at `path`: loaded if it exists, else a new
    one of every frame (`sequence_document`), saved there. Nothing existing is replaced."""
    if Path(project).exists():
        return load_project(project)
    doc, source = sequence_document(path)
    source.close()
    save_project(doc, project)
    return doc
