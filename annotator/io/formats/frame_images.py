"""The pixels of a sequence project's frames, as JPEG bytes for the exports that copy them.

A frame with its own image file is copied (JPEG) or re-encoded (other formats: DAVIS and MOT
tools expect ``.jpg``); a frame of a video file (no file of its own, see sequence.py) is
decoded from the video named by its ``video`` key, through `annotator.io.frames.open_frames`,
one open source per video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from annotator.io.formats.common import FormatError
from annotator.io.images import ImageReadError, read_image
from annotator.io.sequence import FRAME_KEY, VIDEO_KEY

JPEG_QUALITY = 95
_JPEG_SUFFIXES = (".jpg", ".jpeg")


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """JPEG bytes of an (H, W, 3) uint8 RGB image."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])  # fmt: skip
    if not ok:
        raise RuntimeError("OpenCV failed to encode a JPEG")
    return buf.tobytes()


class FrameJpegs:
    """``reader(image dict) -> JPEG bytes`` for the frames of a project under `images_root`."""

    def __init__(self, images_root: Path) -> None:
        self.images_root = Path(images_root)
        self._videos: dict[str, Any] = {}

    def missing(self, image: dict[str, Any]) -> str | None:
        """Why the frame's pixels cannot be had (neither its file nor its video), or None."""
        if (self.images_root / image["file_name"]).is_file():
            return None
        video = image.get(VIDEO_KEY)
        if video is not None and (self.images_root / video).is_file():
            return None
        return f"neither the frame's file nor its video {video!r} exists under {self.images_root}"

    def __call__(self, image: dict[str, Any]) -> bytes:
        path = self.images_root / image["file_name"]
        try:
            if path.is_file():
                if path.suffix.lower() in _JPEG_SUFFIXES:
                    return path.read_bytes()
                return encode_jpeg(read_image(path, (image["width"], image["height"])))
            return encode_jpeg(self._video_frame(image))
        except (ImageReadError, OSError, IndexError, ValueError) as exc:
            raise FormatError(path, None, f"cannot read the frame: {exc}") from None

    def _video_frame(self, image: dict[str, Any]) -> np.ndarray:
        from annotator.io.frames import open_frames  # video decoding, only when copying frames

        video = image[VIDEO_KEY]
        if video not in self._videos:
            self._videos[video] = open_frames(self.images_root / video)
        frame = self._videos[video][image[FRAME_KEY]]
        if frame.shape[:2] != (image["height"], image["width"]):
            raise ValueError(f"frame is {frame.shape[1]}x{frame.shape[0]}, the project says "
                             f"{image['width']}x{image['height']}")  # fmt: skip
        return frame
