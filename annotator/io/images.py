"""Reading images from disk as (H, W, 3) uint8 RGB arrays, the one pixel format the app uses.

Pixels are decoded by OpenCV. Pillow (always installed: torchvision depends on it) is used only to
read headers — size and EXIF orientation without decoding pixels — for `image_size` and for the
huge-image guard; without Pillow both fall back to a full OpenCV decode.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

# The one image-size limit lives in checks.py; re-exported here, where images are read.
from annotator.io.checks import MAX_PIXELS as MAX_PIXELS
from annotator.io.checks import MAX_SIDE as MAX_SIDE
from annotator.io.checks import SIZE_LIMIT as SIZE_LIMIT

try:
    from PIL import Image as _PILImage
except ImportError:  # pragma: no cover - Pillow ships with torchvision, but io must not need it
    _PILImage = None

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".dib", ".tif", ".tiff", ".webp", ".gif"}
    | {".pbm", ".pgm", ".ppm", ".pnm"}
)
"""Lower-case suffixes `list_images` picks up; all decode with OpenCV."""

# Formats whose EXIF orientation Pillow reports exactly as OpenCV applies it (checked by tests).
# For others (TIFF orientation is applied inside libtiff) image_size decodes the pixels instead.
_HEADER_SIZE_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "GIF", "PPM"})
_SWAPS_AXES = frozenset({5, 6, 7, 8})  # EXIF orientations that rotate by 90 or 270 degrees
_PIL_LIMIT_LOCK = threading.Lock()


class ImageReadError(ValueError):
    """An image file could not be read; the message names the file and the reason."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory") from None
    except OSError as exc:
        raise ImageReadError(path, exc.strerror or str(exc)) from None
    if not data:
        raise ImageReadError(path, "file is empty")
    return data


def _png_exif_orientation(handle: BinaryIO) -> int:
    """EXIF orientation from a PNG's eXIf chunk, walking the chunk list by seeking over the data
    (IDAT included: nothing is decompressed). 1 when there is none or the file is malformed."""
    handle.seek(8)  # past the signature
    while True:
        head = handle.read(8)
        if len(head) < 8:
            return 1
        length, kind = struct.unpack(">I4s", head)
        if kind == b"eXIf":
            exif = _PILImage.Exif()
            exif.load(handle.read(length))
            return int(exif.get(0x0112, 1) or 1)
        if kind == b"IEND":
            return 1
        handle.seek(length + 4, os.SEEK_CUR)  # data and CRC


def _open_header(source: Path | BinaryIO) -> tuple[str, int, int, int]:
    """(format, stored width, stored height, EXIF orientation) without decoding any pixel.

    Pillow's open() reads the header only. Its getexif() decodes a whole PNG (to find an eXIf
    chunk after the pixels), so PNG orientation comes from `_png_exif_orientation` instead.
    Raises whatever Pillow raises for unreadable data.
    """
    with _PIL_LIMIT_LOCK, warnings.catch_warnings():
        # Pillow's own decompression-bomb limit is lower than ours; our guard decides (open()
        # only compares the header's size against it, so lifting it decodes nothing).
        warnings.simplefilter("ignore", _PILImage.DecompressionBombWarning)
        saved, _PILImage.MAX_IMAGE_PIXELS = _PILImage.MAX_IMAGE_PIXELS, None
        try:
            with _PILImage.open(source) as im:
                width, height = im.size
                fmt = im.format or ""
                try:
                    if fmt == "PNG":
                        orientation = _png_exif_orientation(im.fp)
                    else:  # JPEG/WebP keep EXIF in the header; TIFF tags are the header
                        orientation = int(im.getexif().get(0x0112, 1) or 1)
                except Exception:  # a broken EXIF block is not a broken image
                    orientation = 1
        finally:
            _PILImage.MAX_IMAGE_PIXELS = saved
    return fmt, width, height, orientation


def _header(path: Path) -> tuple[str, int, int, int] | None:
    """(format, stored width, stored height, EXIF orientation) from the header only, or None."""
    if _PILImage is None:
        return None
    try:
        return _open_header(path)
    except Exception:
        return None  # Pillow cannot parse it; OpenCV may still decode it


def check_encoded_image(data: bytes, source: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(width, height) from the header of encoded image bytes (e.g. LabelMe ``imageData``),
    without decoding; ImageReadError naming `source` when over MAX_SIDE / MAX_PIXELS. None
    when Pillow cannot read the header (the caller's decoder then reports the problem)."""
    if _PILImage is None:
        return None
    try:
        _, width, height, _ = _open_header(io.BytesIO(data))
    except Exception:
        return None
    _check_size(Path(source), width, height)
    return width, height


class ImageSizeMismatchError(ImageReadError):
    """The image file's size (after EXIF orientation) is not the size its record declares."""

    def __init__(self, path: str | os.PathLike[str], declared: tuple[int, int],
                 actual: tuple[int, int]) -> None:  # fmt: skip
        self.declared, self.actual = declared, actual
        super().__init__(
            path,
            f"the project declares {declared[0]}x{declared[1]} px but the file is "
            f"{actual[0]}x{actual[1]} px (width x height, after EXIF orientation); masks would "
            "not line up: fix the image's width/height in the project or restore the file",
        )


def check_declared_size(path: str | os.PathLike[str], width: int, height: int) -> None:
    """Raise ImageSizeMismatchError if the file at `path` is not width x height px as
    `read_image` returns it (EXIF orientation applied). Reads the header only where
    `image_size` does. Other read problems raise ImageReadError."""
    actual = image_size(path)
    if actual != (int(width), int(height)):
        raise ImageSizeMismatchError(path, (int(width), int(height)), actual)


def _check_size(path: Path, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError(path, f"image has no pixels ({width}x{height})")
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageReadError(
            path,
            f"image is too large ({width}x{height} px; the limit is {SIZE_LIMIT})",
        )


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Linear min-max scaling of 16-bit or float pixels to uint8; uint8 passes through."""
    if image.dtype == np.uint8:
        return image
    work = image.astype(np.float32)
    finite = np.isfinite(work)
    if not finite.any():
        return np.zeros(image.shape, np.uint8)
    lo, hi = float(work[finite].min()), float(work[finite].max())
    work = np.where(finite, work, lo)
    if hi <= lo:
        return np.zeros(image.shape, np.uint8)
    return np.round((work - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def read_image(path: str | os.PathLike[str], expected: tuple[int, int] | None = None) -> np.ndarray:
    """Decode an image file to an (H, W, 3) uint8 RGB array, upright per its EXIF orientation.

    Grayscale and palette images are expanded to RGB, alpha is dropped, and 16-bit or float
    images are scaled linearly from their own min..max to 0..255. Non-ASCII paths work.
    Raises ImageReadError (a ValueError) naming the file for missing, empty, corrupt, truncated,
    non-image and oversized (> MAX_SIDE or > MAX_PIXELS) files. expected: the (width, height)
    a project declares for it; a different size raises ImageSizeMismatchError (an
    ImageReadError) before the pixels are returned.
    """
    path = Path(path)
    data = _read_bytes(path)
    header = _header(path)
    if header is not None:
        _check_size(path, header[1], header[2])
    # imdecode on the bytes (not imread) so non-ASCII paths work on every platform. ANYDEPTH keeps
    # 16-bit data for our own scaling; any flag other than UNCHANGED makes OpenCV apply EXIF
    # orientation and drop alpha.
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        raise ImageReadError(path, f"OpenCV failed to decode it ({exc.err or exc})") from None
    if image is None:
        kind = "not a supported image format" if header is None else f"corrupt {header[0]} data"
        raise ImageReadError(path, f"{kind} (OpenCV could not decode it, or it is truncated)")
    _check_size(path, image.shape[1], image.shape[0])
    image = _to_uint8(image)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    else:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if expected is not None and (image.shape[1], image.shape[0]) != tuple(expected):
        declared = (int(expected[0]), int(expected[1]))
        raise ImageSizeMismatchError(path, declared, (image.shape[1], image.shape[0]))
    return np.ascontiguousarray(image)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(width, height) of the image as `read_image` returns it, i.e. after EXIF orientation.

    Reads only the header for JPEG, PNG, WebP, BMP, GIF and PNM (so a file truncated after its
    header still has a size here; `read_image` then fails); other formats are decoded.
    Raises ImageReadError like `read_image`.
    """
    path = Path(path)
    if not path.is_file():
        _read_bytes(path)  # raises the specific error
    header = _header(path)
    if header is not None and header[0] in _HEADER_SIZE_FORMATS:
        _, width, height, orientation = header
        _check_size(path, width, height)
        return (height, width) if orientation in _SWAPS_AXES else (width, height)
    image = read_image(path)
    return image.shape[1], image.shape[0]


def _natural_key(path: Path) -> list[object]:
    parts = re.split(r"(\d+)", path.as_posix().casefold())
    return [int(p) if p.isdigit() else p for p in parts]


def natural_sorted(paths: Iterable[Path]) -> list[Path]:
    """Sort so that img2 comes before img10 (case-insensitive, digit runs compared as numbers)."""
    return sorted(paths, key=_natural_key)


def list_images(folder: str | os.PathLike[str], recursive: bool = False) -> list[Path]:
    """Image files (by IMAGE_EXTENSIONS, any case) in `folder`, naturally sorted.

    Hidden files and folders (".name", e.g. macOS "._photo.jpg" resource forks) are skipped.
    Raises NotADirectoryError if `folder` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    candidates = root.rglob("*") if recursive else root.iterdir()
    found = []
    for path in candidates:
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return natural_sorted(found)
