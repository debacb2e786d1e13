"""What "open PATH" means: an image, a folder or a project JSON -> a Document and its images.

No widgets here; questions (recover an autosave?) come in as callbacks so this is testable.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from annotator.io.autosave import discard_recovery, find_recovery, load_recovery
from annotator.io.coco_store import load_project
from annotator.io.document import Document
from annotator.io.images import list_images

DEFAULT_PROJECT = "annotations.json"
DONE_KEY = "annotator_done_images"  # top-level project key: file names marked done


class ImageStatus(enum.Enum):
    UNTOUCHED = "untouched"
    IN_PROGRESS = "in progress"
    DONE = "done"
    UNREADABLE = "unreadable"  # the file failed to open this session; D / A skip it


@dataclass
class OpenedProject:
    doc: Document
    images: list[str]  # file names relative to doc.images_root, folder order
    first: str | None  # the image PATH named, to show first (None: a folder or project)
    recovered: bool = False
    escaping_links: list[str] = field(default_factory=list)  # left out: they lead outside
    #: autosaves holding work that were not offered (one was recovered first): kept on disk,
    #: offered again next time the project is opened
    kept_recoveries: list[Path] = field(default_factory=list)


def _relative(path: Path, root: Path) -> str:
    """`path` relative to `root` as the user sees it: a symlink keeps its own name (resolving
    it would leave the folder's subpath), and only what `path` resolves to must be inside."""
    lexical = Path(os.path.abspath(path))
    try:
        return lexical.relative_to(Path(os.path.abspath(root))).as_posix()
    except ValueError:
        return path.resolve().relative_to(root.resolve()).as_posix()


def _leads_inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def open_project(
    path: str | Path,
    offer_recovery: Callable[[Path], bool] = lambda _p: False,
    images_root: str | Path | None = None,
) -> OpenedProject:
    """Resolve PATH (image file, folder or project .json). The project defaults to
    ``annotations.json`` in the folder (the image's folder for a single image). Each autosave
    holding work the project does not (one per window that wrote one, newest first) is offered
    through `offer_recovery(sidecar) -> bool` until one is accepted and opened; only the
    declined ones are deleted, the ones not asked about are kept (`kept_recoveries`).
    images_root: the folder the user chose for the images (default: the project's record,
    trusted only inside the project's folder).

    Raises FileNotFoundError, NotADirectoryError, ProjectLoadError (a ValueError; its
    UntrustedImagesRootError names the recorded folder, to ask the user about it).
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    first: Path | None = None
    if path.is_dir():
        folder, project = path, path / DEFAULT_PROJECT
    elif path.suffix.lower() == ".json":
        folder, project = path.parent, path
    else:
        folder, project, first = path.parent, path.parent / DEFAULT_PROJECT, path

    recovered = False
    offered = find_recovery(project)
    declined: list[Path] = []
    kept: list[Path] = []
    for i, sidecar in enumerate(offered):
        if offer_recovery(sidecar):
            doc = load_recovery(project, images_root, sidecar)
            recovered, kept = True, offered[i + 1 :]
            break
        declined.append(sidecar)
    discard_recovery(project, declined)
    if not recovered:
        if project.exists():
            doc = load_project(project, images_root)
        else:
            root = folder if images_root is None else Path(images_root)
            doc = Document(images_root=root.resolve(), path=project)
    root = doc.images_root
    names = [im.file_name for im in doc.images()]
    found = list_images(root) if root.is_dir() else []
    on_disk = [_relative(p, root) for p in found if _leads_inside(p, root)]
    escaping = [_relative(p, root) for p in found if not _leads_inside(p, root)]
    on_disk_set = set(on_disk)
    images = on_disk + [n for n in names if n not in on_disk_set]
    first_name = _relative(first, root) if first is not None else None
    return OpenedProject(doc, images, first_name, recovered, escaping, kept)


def export_refusal(out: Path, project: Path | None) -> str | None:
    """Why exporting into folder `out` is refused, or None. An export writes files named by its
    format (``annotations.json``, per-image ``.json`` ...) anywhere under `out`, so a folder that
    holds the open project file (at any depth) is refused: the export could replace it."""
    if project is None:
        return None
    folder = Path(os.path.abspath(out))
    for candidate in {Path(os.path.abspath(project)), project.resolve()}:
        if candidate.is_relative_to(folder) or candidate.is_relative_to(folder.resolve()):
            return (
                f"{out} holds the open project file {project}; an export there could replace "
                "it. Choose another folder."
            )
    return None


def folder_is_empty(out: Path) -> bool:
    """True for a missing or empty folder (the CLI writes into others only with --force)."""
    return not out.is_dir() or not any(out.iterdir())


def done_images(doc: Document) -> set[str]:
    value = doc.extra.get(DONE_KEY)
    return set(value) if isinstance(value, list) else set()


def set_done(doc: Document, file_name: str, done: bool) -> None:
    names = done_images(doc)
    names = names | {file_name} if done else names - {file_name}
    doc.extra[DONE_KEY] = sorted(names)
    doc.mark_dirty()


def image_status(doc: Document, name: str, done: set[str]) -> ImageStatus:
    """Done if marked so, in progress if it has annotations, else untouched."""
    if name in done:
        return ImageStatus.DONE
    record = doc.image_by_file_name(name)
    if record is not None and doc.annotations_for(record.id):
        return ImageStatus.IN_PROGRESS
    return ImageStatus.UNTOUCHED


LAST_IMAGE_KEY = "annotator_last_image"  # top-level project key: where the user stopped


def progress(rows: list[tuple[str, ImageStatus]]) -> tuple[int, int]:
    """(done, total) images, e.g. (37, 500) for "37 / 500 done"."""
    return sum(status is ImageStatus.DONE for _, status in rows), len(rows)


def next_unfinished(rows: list[tuple[str, ImageStatus]], current: str | None) -> str | None:
    """N: the first image after `current` (wrapping around) not marked done and readable."""
    names = [n for n, _ in rows]
    start = names.index(current) + 1 if current in names else 0
    for name, status in rows[start:] + rows[:start]:
        if name != current and status not in (ImageStatus.DONE, ImageStatus.UNREADABLE):
            return name
    return None
