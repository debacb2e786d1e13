"""The checks every reader of outside data shares: one path rule, one number rule.

`safe_relative` is the only place that decides whether a file name from a project, an imported
file or the command line names a file inside an images root; `is_int` and `is_number` decide
what counts as a JSON number; MAX_SIDE / MAX_PIXELS are the one image-size limit.
validation.py, records.py, images.py and the formats all use these.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

_DRIVE_RE = re.compile(r"^[A-Za-z]:")

MAX_SIDE = 30_000
"""Longest accepted image side in pixels: larger image files are refused from their header,
before decoding, and project or imported files declaring larger images are refused."""
MAX_PIXELS = 400_000_000
"""Largest accepted width * height (400 MP is already 1.2 GB as RGB uint8)."""
SIZE_LIMIT = f"{MAX_SIDE} px a side and {MAX_PIXELS // 1_000_000} MP"
"""The limit in words, for every message that refuses a size."""


def size_limit_problem(width: int, height: int) -> str | None:
    """Why a declared width x height is refused (over MAX_SIDE / MAX_PIXELS), or None."""
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return f"{width}x{height} px is larger than the limit ({SIZE_LIMIT})"
    return None


def safe_relative(name: Any, root: str | os.PathLike[str] | None = None) -> str | None:
    """`name` as a POSIX path relative to `root`, or None when it does not stay inside it.

    The rule: backslashes count as separators; empty names, any ``..`` segment and drive-relative
    names (``C:x.jpg``) are refused; ``.`` segments and repeated slashes are dropped. An absolute
    name (``/data/a.jpg``, ``C:/data/a.jpg``, ``//server/a.jpg``) is accepted only when `root` is
    given and the name lies inside it (compared lexically, after ``os.path.abspath``, so a root
    full of symlinks is still one folder); it is then made relative. Nothing touches the disk.
    """
    if not isinstance(name, str):
        return None
    text = name.replace("\\", "/")
    drive = _DRIVE_RE.match(text)
    if text.startswith("/") or drive:
        if root is None or (drive and not text[2:].startswith("/")):
            return None  # absolute without a root, or "C:x" (relative to drive C's cwd)
        if drive and os.name != "nt":
            return None  # a Windows drive is never inside a POSIX folder
        if ".." in text.split("/"):
            return None
        rel = os.path.relpath(os.path.abspath(text), os.path.abspath(root))
        text = Path(rel).as_posix()
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def is_int(value: Any) -> bool:
    """A JSON integer (bool excluded)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any, *, finite: bool = True) -> bool:
    """A JSON number (int or float, bool excluded); finite=True also refuses NaN and infinity.

    Integers are always finite (even ones too large for a float).
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    return not finite or isinstance(value, int) or math.isfinite(value)
