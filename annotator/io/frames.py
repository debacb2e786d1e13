"""Frame sources: the frames of a sequence, read lazily as (H, W, 3) uint8 RGB arrays.

A sequence is a folder of images (natural sort order: ``frame2`` before ``frame10``), a video
file decoded with OpenCV (mp4, avi, mov, mkv, ...), or an array already in memory. Every source
has ``len(source)``, ``source[i]`` -> (H, W, 3) uint8 RGB, ``names`` (one per frame: the file
name for folders, ``<video stem>_<index>`` for videos) and ``path``. Nothing is decoded until a
frame is asked for, so opening a 10,000-frame video costs what reading its header does.

The engine's sequence predictor takes any object with ``__len__`` and ``__getitem__`` returning
such arrays, so callers (the CLI, the app) pass ``open_frames(path)`` to it.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from annotator.frame_rule import frame_problem
from annotator.io.images import ImageReadError, list_images, read_image

VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv"}
)
"""Lower-case suffixes ``open_frames`` opens as a video file."""

# Decoding forward is cheap and exact; seeking is neither for some codecs, so a request up to
# this many frames ahead of the decoder's position is served by decoding forward.
_MAX_DECODE_AHEAD = 48


class FrameSourceError(ValueError):
    """A sequence could not be opened or a frame of it could not be read."""

    def __init__(self, path: str | os.PathLike[str] | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        where = f" {self.path}" if self.path is not None else ""
        super().__init__(f"cannot read frames{where}: {reason}")


class FrameSource(Sequence):
    """Base of the frame sources: a sequence of (H, W, 3) uint8 RGB frames."""

    path: Path | None = None
    names: list[str]

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        n = len(self)
        if not isinstance(index, int | np.integer):
            raise TypeError(f"frame index must be an integer, not {type(index).__name__}")
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"frame {index} out of range for {n} frames")
        return self._read(i)

    def _read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Release file handles (a video's decoder); reading again reopens them."""


class FolderFrames(FrameSource):
    """The images of one folder (not recursive, hidden files skipped), naturally sorted."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder)
        try:
            self.files = list_images(self.path)
        except NotADirectoryError:
            raise FrameSourceError(self.path, "not a folder") from None
        if not self.files:
            raise FrameSourceError(self.path, "the folder holds no images")
        self.names = [p.name for p in self.files]

    def _read(self, index: int) -> np.ndarray:
        try:
            return read_image(self.files[index])
        except ImageReadError as exc:
            reason = f"frame {index} ({exc.path.name}): {exc.reason}"
            raise FrameSourceError(self.path, reason) from None


class VideoFrames(FrameSource):
    """A video file decoded lazily with OpenCV, frame by frame; the last few frames are kept
    so that asking for the same frame twice (encode, then display) decodes it once."""

    def __init__(self, path: str | os.PathLike[str], keep: int = 4) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            reason = "no such file" if not self.path.exists() else "not a file"
            raise FrameSourceError(self.path, reason)
        self._lock = threading.Lock()
        self._cap: cv2.VideoCapture | None = None
        self._pos = 0  # index of the frame the next cap.read() returns
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()
        self._keep = keep
        cap = self._open()
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        ok, first = cap.read()
        if not ok or first is None:
            self.close()
            raise FrameSourceError(self.path, "no frame could be decoded")
        self._pos = 1
        self._remember(0, cv2.cvtColor(first, cv2.COLOR_BGR2RGB))
        self.height, self.width = first.shape[:2]
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if count <= 0:  # the container does not say: count by decoding, once
            count = 1 + self._count_rest(cap)
            self.close()
        stem = self.path.stem
        self.names = [f"{stem}_{i:06d}" for i in range(count)]

    def _open(self) -> cv2.VideoCapture:
        if self._cap is None:
            cap = cv2.VideoCapture(str(self.path))
            if not cap.isOpened():
                raise FrameSourceError(self.path, "OpenCV cannot open it as a video")
            self._cap, self._pos = cap, 0
        return self._cap

    @staticmethod
    def _count_rest(cap: cv2.VideoCapture) -> int:
        n = 0
        while cap.grab():
            n += 1
        return n

    def _remember(self, index: int, frame: np.ndarray) -> None:
        self._recent[index] = frame
        self._recent.move_to_end(index)
        while len(self._recent) > self._keep:
            self._recent.popitem(last=False)

    def _read(self, index: int) -> np.ndarray:
        with self._lock:
            if index in self._recent:
                self._recent.move_to_end(index)
                return self._recent[index]
            cap = self._open()
            if not self._pos <= index <= self._pos + _MAX_DECODE_AHEAD:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                self._pos = index
            while self._pos < index:
                if not cap.grab():
                    break
                self._pos += 1
            ok, bgr = cap.read() if self._pos == index else (False, None)
            if not ok or bgr is None:
                self.close()
                raise FrameSourceError(
                    self.path, f"frame {index} of {len(self)} could not be decoded"
                )
            self._pos = index + 1
            frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            self._remember(index, frame)
            return frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap, self._pos = None, 0


class ArrayFrames(FrameSource):
    """Frames already in memory: an (N, H, W, 3) uint8 array or a list of (H, W, 3) arrays."""

    def __init__(self, frames: np.ndarray | Sequence[np.ndarray], names: list[str] | None = None):
        if isinstance(frames, np.ndarray) and frames.ndim != 4:
            raise FrameSourceError(None, f"expected (N, H, W, 3) frames, got {frames.shape}")
        self.frames = frames
        if len(frames) == 0:
            raise FrameSourceError(None, "the sequence has no frames")
        for i in (0, len(frames) - 1):
            check_frame(frames[i], i)
        self.names = list(names) if names is not None else [f"{i:06d}" for i in range(len(frames))]
        if len(self.names) != len(frames):
            raise FrameSourceError(None, f"{len(self.names)} names for {len(frames)} frames")

    def _read(self, index: int) -> np.ndarray:
        return check_frame(self.frames[index], index)


def check_frame(frame: np.ndarray, index: int) -> np.ndarray:
    """``frame`` if it is (H, W, 3) uint8, else a FrameSourceError naming the frame."""
    problem = frame_problem(frame, index)
    if problem is not None:
        raise FrameSourceError(None, problem)
    return frame


def is_video_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a video by its suffix (any case)."""
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def open_frames(source: str | os.PathLike[str] | np.ndarray | Sequence[np.ndarray]) -> FrameSource:
    """A frame source for a folder of images, a video file, or frames in memory.

    Raises FrameSourceError (a ValueError) naming the input: missing, an empty folder, a file
    that is not a video OpenCV can decode, frames of the wrong shape or dtype.
    """
    if isinstance(source, FrameSource):
        return source
    if not isinstance(source, str | os.PathLike):
        return ArrayFrames(source)
    path = Path(source)
    if path.is_dir():
        return FolderFrames(path)
    if not path.exists():
        raise FrameSourceError(path, "no such file or folder")
    if not is_video_file(path):
        known = ", ".join(sorted(VIDEO_EXTENSIONS))
        raise FrameSourceError(path, f"not a frame folder or a video file ({known})")
    return VideoFrames(path)
