"""The pixels of a project's images and frames for the exports that copy them (``--copy-images``):
as JPEG bytes (davis, mot) or as files next to the labels (the other formats).

A frame with its own JPEG file is copied as is; any other frame is re-encoded (DAVIS and MOT
tools expect ``.jpg``), a frame of a video file after decoding it from the video
(`sequence_frames.FramePixels`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_bytes
from annotator.io.formats.common import FormatError
from annotator.io.sequence_frames import FramePixels, encode_jpeg

_JPEG_SUFFIXES = (".jpg", ".jpeg")


class FrameJpegs:
    """``reader(image dict) -> JPEG bytes`` for the frames of a project under `images_root`."""

    def __init__(self, images_root: Path) -> None:
        self.pixels = FramePixels(images_root)

    def missing(self, image: dict[str, Any]) -> str | None:
        """Why the frame's pixels cannot be had (neither its file nor its video), or None."""
        return self.pixels.missing(image)

    def __call__(self, image: dict[str, Any]) -> bytes:
        path = self.pixels.images_root / image["file_name"]
        try:
            if path.is_file() and path.suffix.lower() in _JPEG_SUFFIXES:
                return path.read_bytes()
            return encode_jpeg(self.pixels.read(image))
        except (OSError, IndexError, ValueError) as exc:  # ImageReadError, FrameSourceError
            raise FormatError(path, None, f"cannot read the frame: {exc}") from None

    def copy(self, image: dict[str, Any], dest: Path) -> None:
        """Put the image at `dest`: its file copied (times kept), or a frame of a video file
        decoded and written as JPEG (its file_name ends in .jpg, `sequence.video_frame_name`)."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = self.pixels.images_root / image["file_name"]
        if source.is_file():
            shutil.copy2(source, dest)
        else:
            atomic_write_bytes(dest, self(image))
