"""Loading and saving project files: one COCO instances JSON that pycocotools reads as is.

Saves are atomic (see atomic.py) and keep the previous version as ``<name>.bak``. A save refuses
to overwrite a file that another program (or another window) changed since this document loaded
or last saved it: `ProjectChangedOnDiskError`; pass ``force=True`` once the user has agreed.
Loads validate everything first (validation.py) and never write anything.

The file is written one image/category/annotation per line: still plain JSON, but diffs and
version control stay readable. A top-level ``"annotator"`` key records the images root relative
to the project file; COCO readers ignore it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_bytes
from annotator.io.checks import safe_relative
from annotator.io.document import Document
from annotator.io.validation import (
    Problem,
    ProjectLoadError,
    UntrustedImagesRootError,
    validate_project,
)

__all__ = [
    "DiskState",
    "ProjectChangedOnDiskError",
    "ProjectLoadError",
    "load_project",
    "read_disk_state",
    "save_project",
    "serialize_project",
    "sidecar_path",
    "sidecar_paths",
]

APP_KEY = "annotator"
_ORDER = ("info", APP_KEY, "licenses")
_SECTIONS = ("images", "categories", "annotations")


@dataclass(frozen=True)
class DiskState:
    """What the project file looked like when this document last read or wrote it."""

    inode: int
    mtime_ns: int
    size: int
    sha256: str


class ProjectChangedOnDiskError(RuntimeError):
    """The project file changed on disk since it was loaded or saved; saving would lose that."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"{path} was changed on disk by another program or window since it was opened; "
            "reload it, save under another name, or overwrite it (force=True)"
        )


def sidecar_path(project_path: str | os.PathLike[str], writer: str | None = None) -> Path:
    """The autosave sidecar of a project written by `writer` (an Autosaver's writer id):
    ``name.json`` -> ``name.autosave-<writer>.json``; without a writer the legacy shared
    ``name.autosave.json`` (still read, never written any more)."""
    path = Path(project_path)
    tag = f"-{writer}" if writer else ""
    return path.with_name(f"{path.stem}.autosave{tag}{path.suffix or '.json'}")


def sidecar_paths(project_path: str | os.PathLike[str]) -> list[Path]:
    """Every autosave sidecar of a project on disk (each writer's, and the legacy one)."""
    legacy = sidecar_path(project_path)
    pattern = sidecar_path(project_path, "*").name
    found = [p for p in legacy.parent.glob(pattern) if p.is_file()]
    return sorted(found) + ([legacy] if legacy.is_file() else [])


def _read(path: Path) -> tuple[bytes, os.stat_result]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
            # fstat of the handle we read: consistent with the bytes even if the file is replaced
            return data, os.fstat(handle.fileno())
    except FileNotFoundError:
        raise ProjectLoadError(path, [Problem("", "file not found")]) from None
    except IsADirectoryError:
        raise ProjectLoadError(path, [Problem("", "is a directory, not a project file")]) from None
    except OSError as exc:
        raise ProjectLoadError(path, [Problem("", exc.strerror or str(exc))]) from None


def _parse(path: Path, raw: bytes) -> Any:
    if not raw.strip():
        raise ProjectLoadError(path, [Problem("", "file is empty")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProjectLoadError(
            path, [Problem(f"byte {exc.start}", "not UTF-8 text (is this a JSON file?)")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        place = f"line {exc.lineno} column {exc.colno}"
        raise ProjectLoadError(path, [Problem(place, f"invalid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise ProjectLoadError(path, [Problem("", "invalid JSON: nested too deeply")]) from None


def _recorded_root(path: Path, app: dict[str, Any]) -> Path:
    """The images root a project file records, trusted only inside the project's own folder.

    A path in the file is data, not a choice the user made: an absolute root or one escaping
    with ``..`` (``"/etc"``, ``"../../home"``) is refused by the `safe_relative` rule unless the
    caller passes an images root explicitly (``--images-root``, or the folder the user opened).
    """
    recorded = app.get("images_root")
    if not isinstance(recorded, str) or recorded.strip() in ("", "."):
        return path.parent
    rel = safe_relative(recorded)
    if rel is None:
        problem = Problem(
            f"{APP_KEY}.images_root",
            f"{recorded!r} is not a folder inside the project's folder {path.parent} (absolute "
            "paths and '..' are not trusted from a file); pass the images folder explicitly "
            "(--images-root DIR) to use it",
        )
        where = Path(os.path.normpath(path.parent / recorded))
        raise UntrustedImagesRootError(path, problem, where)
    return path.parent / rel


def load_project(
    path: str | os.PathLike[str], images_root: str | os.PathLike[str] | None = None
) -> Document:
    """Read and validate a project file; returns a clean Document with no undo history.

    images_root: where image file_names are resolved; default the root recorded in the file
    (only if it lies inside the project file's folder: see `_recorded_root`), else the project
    file's folder. Raises ProjectLoadError (a ValueError) naming the file, the
    place in the JSON and the reason. Nothing on disk is modified.
    """
    return load_project_with_app_info(path, images_root)[0]


def load_project_with_app_info(
    path: str | os.PathLike[str],
    images_root: str | os.PathLike[str] | None = None,
    *,
    trust_recorded_root: bool = False,
) -> tuple[Document, dict[str, Any]]:
    """`load_project`, plus the file's ``"annotator"`` block (images root, autosave base...).

    trust_recorded_root: use the recorded images root even outside the file's folder; only for
    files the app itself wrote in its own state folder (untitled autosaves).
    """
    path = Path(path)
    raw, stat = _read(path)
    data = _parse(path, raw)
    app = data.get(APP_KEY) if isinstance(data, dict) else None
    app = app if isinstance(app, dict) else {}
    if images_root is None:
        recorded = app.get("images_root")
        trusted = trust_recorded_root and isinstance(recorded, str)
        images_root = path.parent / recorded if trusted else _recorded_root(path, app)
    root = Path(os.path.abspath(images_root))
    measured: dict[int, tuple[int, list[float]]] = {}
    problems = validate_project(data, root, measured)
    if problems:
        raise ProjectLoadError(path, problems)
    for image in data["images"]:
        image["file_name"] = safe_relative(image["file_name"], root)
    data.pop(APP_KEY, None)
    doc = Document.from_coco(data, root, path, measured)
    doc.disk_state = DiskState(stat.st_ino, stat.st_mtime_ns, stat.st_size, sha256_hex(raw))
    return doc, app


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_disk_state(path: str | os.PathLike[str]) -> DiskState | None:
    """The file's current DiskState, or None if it does not exist."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
            stat = os.fstat(handle.fileno())
    except FileNotFoundError:
        return None
    return DiskState(stat.st_ino, stat.st_mtime_ns, stat.st_size, sha256_hex(raw))


def _finite(value: Any) -> Any:
    """Replace NaN/inf (which strict JSON readers refuse) with null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False)


def serialize_project(
    doc: Document, path: str | os.PathLike[str], app_info: dict[str, Any] | None = None
) -> bytes:
    """The UTF-8 bytes of the project file for `doc` saved at `path` (images root made relative
    to it when possible). app_info: extra entries for the ``"annotator"`` block."""
    data = doc.to_coco()
    folder = os.path.abspath(Path(path).parent)
    root = os.path.abspath(doc.images_root)
    try:
        recorded = Path(os.path.relpath(root, folder)).as_posix()
    except ValueError:  # another drive on Windows
        recorded = Path(root).as_posix()
    data[APP_KEY] = {"images_root": recorded, "format_version": 1, **(app_info or {})}
    keys = [k for k in _ORDER if k in data]
    keys += [k for k in data if k not in keys and k not in _SECTIONS]
    parts = [f"{json.dumps(k)}: {_dumps(data[k])}" for k in keys]
    for key in _SECTIONS:
        items = ",\n".join(_dumps(item) for item in data[key])
        parts.append(f'"{key}": [\n{items}\n]' if items else f'"{key}": []')
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def stat_state(path: str | os.PathLike[str], sha256: str = "") -> DiskState | None:
    """DiskState from a stat only (sha256 as given), or None if the file does not exist."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return DiskState(stat.st_ino, stat.st_mtime_ns, stat.st_size, sha256)


def remove_if_unchanged(path: str | os.PathLike[str], state: DiskState | None) -> bool:
    """Delete `path` if it is still the file described by `state` (inode, mtime, size): e.g. an
    autosave sidecar this document wrote, but not one another window has written since."""
    current = stat_state(path)
    if state is None or current is None:
        return False
    if (current.inode, current.mtime_ns, current.size) != (state.inode, state.mtime_ns, state.size):
        return False
    Path(path).unlink(missing_ok=True)
    return True


def _check_unchanged(path: Path, state: DiskState) -> None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return  # deleted since: writing it again loses nothing
    if (stat.st_ino, stat.st_mtime_ns, stat.st_size) == (state.inode, state.mtime_ns, state.size):
        return
    if stat.st_size == state.size and sha256_hex(path.read_bytes()) == state.sha256:
        return  # touched or copied back unchanged
    raise ProjectChangedOnDiskError(path)


def save_project(
    doc: Document,
    path: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    backup: bool = True,
) -> Path:
    """Write `doc` to `path` (default doc.path) atomically; returns the path written.

    The previous file is kept as ``<name>.bak`` (backup=True). Raises ProjectChangedOnDiskError
    if doc.path is being saved and changed on disk since this document read or wrote it, unless
    force=True. On success doc.path is set, the document is marked clean (if not edited during
    the save) and the autosave sidecar this document wrote or was recovered from
    (doc.autosave_path) is removed (one written since by another window is kept). On failure
    (OSError) nothing changes.
    """
    if path is None and doc.path is None:
        raise ValueError("this project has no file yet: give a path to save it to")
    target = Path(path) if path is not None else doc.path
    assert target is not None
    same_file = doc.path is not None and os.path.abspath(target) == os.path.abspath(doc.path)
    state = doc.disk_state if same_file else None
    if state is not None and not force:
        _check_unchanged(target, state)
    revision = doc.revision
    data = serialize_project(doc, target)
    atomic_write_bytes(target, data, backup=backup)
    stat = os.stat(target)
    doc.disk_state = DiskState(stat.st_ino, stat.st_mtime_ns, stat.st_size, sha256_hex(data))
    doc.path = target
    doc.mark_clean(revision)
    if doc.autosave_path is not None and remove_if_unchanged(doc.autosave_path, doc.autosave_state):
        doc.autosave_state = None
        doc.autosave_path = None
    return target
