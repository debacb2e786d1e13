"""Debounced autosave to a sidecar file, and recovery of it after a crash.

No threads and no Qt: the Autosaver listens to the Document (every change, undo included, pokes
it) and the GUI drives it from a timer on its main thread, where the Document lives::

    autosaver = Autosaver(doc, on_error=lambda exc: status_bar.showMessage(str(exc)))
    timer = QTimer(interval=1000, timeout=autosaver.maybe_flush); timer.start()
    ...  # on quit: autosaver.flush() if the user chose not to save; autosaver.close()

A write happens `delay_s` after the last change, and at the latest `max_delay_s` after the first
unsaved one, so continuous editing is still protected. Each Autosaver is one writer with its own
sidecar: ``p.json`` -> ``p.autosave-<writer id>.json`` next to it (``coco_store.sidecar_path``),
so two windows on one project never overwrite each other's unsaved work; an untitled project
autosaves into the user state folder. Autosaving never marks the document clean: only a real
save does, and a real save removes this writer's sidecar (``doc.autosave_path``). A failed
write keeps the changes pending, records `last_error`, calls `on_error` and is retried after
`delay_s`.

On open, `find_recovery(project)` lists the sidecars (every writer's, and the legacy shared
``p.autosave.json``) that hold work the project does not, newest first; the app offers each and
opens an accepted one with `load_recovery(project, sidecar=...)` (a dirty document that saves to
the project path), and deletes only the declined ones with `discard_recovery(project, [...])`.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import platformdirs

from annotator.atomic import atomic_write_bytes
from annotator.io.coco_store import (
    DiskState,
    load_project_with_app_info,
    read_disk_state,
    remove_if_unchanged,
    serialize_project,
    sha256_hex,
    sidecar_path,
    sidecar_paths,
    stat_state,
)
from annotator.io.document import Document

_NEVER_MATCHES = DiskState(inode=-1, mtime_ns=-1, size=-1, sha256="")


def untitled_autosave_dir() -> Path:
    """Where untitled projects are autosaved (per user, created on first write)."""
    return Path(platformdirs.user_state_dir("annotator", appauthor=False)) / "autosave"


class Autosaver:
    """Debounced sidecar writer for one Document. Times are `clock()` seconds (monotonic).

    untitled_path: the file a recovered untitled project came from (`load_untitled_recovery`),
    so autosaves continue there and it is removed once the project is saved.
    writer_id: names this writer's sidecar (default: a fresh random id, one per Autosaver).
    A recovered document (doc.autosave_path set) leaves its sidecar once this writer first
    writes its own, or when it is saved.
    """

    def __init__(
        self,
        doc: Document,
        delay_s: float = 3.0,
        max_delay_s: float = 30.0,
        *,
        on_error: Callable[[Exception], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        untitled_dir: Path | None = None,
        untitled_path: Path | None = None,
        writer_id: str | None = None,
    ) -> None:
        self.doc = doc
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self.on_error = on_error
        self.clock = clock
        self.untitled_dir = untitled_dir
        self.last_error: Exception | None = None
        self.writer_id = writer_id or uuid.uuid4().hex[:12]
        self.last_written: Path | None = doc.autosave_path  # a recovered sidecar, if any
        self._untitled_name = f"untitled-{uuid.uuid4().hex[:12]}.autosave.json"
        if untitled_path is not None:  # continuing a recovered untitled project
            self.untitled_dir = untitled_path.parent
            self._untitled_name = untitled_path.name
            self.last_written = untitled_path
        self._written_revision: int | None = None
        self._first_change: float | None = None
        self._last_change: float | None = None
        self._closed = False
        doc.add_listener(lambda _ids: self.poke())
        if doc.dirty:
            self.poke()

    @property
    def target(self) -> Path:
        """The sidecar the next write goes to (follows doc.path, e.g. after Save As)."""
        if self.doc.path is not None:
            return sidecar_path(self.doc.path, self.writer_id)
        return (self.untitled_dir or untitled_autosave_dir()) / self._untitled_name

    @property
    def pending(self) -> bool:
        """True while the document has changes that neither a save nor an autosave holds."""
        return self.doc.dirty and self.doc.revision != self._written_revision

    def poke(self, now: float | None = None) -> None:
        """Note a change (called automatically by the Document; callable by hand)."""
        now = self.clock() if now is None else now
        if self._first_change is None:
            self._first_change = now
        self._last_change = now

    def due(self, now: float | None = None) -> bool:
        if not self.pending or self._closed or self._last_change is None:
            return False
        now = self.clock() if now is None else now
        assert self._first_change is not None
        return (
            now - self._last_change >= self.delay_s or now - self._first_change >= self.max_delay_s
        )

    def maybe_flush(self, now: float | None = None) -> bool:
        """Write the sidecar if it is due; True if one was written. Call it from a timer."""
        self._drop_obsolete()
        if not self.pending:
            self._first_change = self._last_change = None  # e.g. saved: restart the clock
            return False
        if not self.due(now):
            return False
        return self.flush(now)

    def flush(self, now: float | None = None) -> bool:
        """Write the sidecar now if there are pending changes; False if none or it failed."""
        if not self.pending or self._closed:
            self._drop_obsolete()
            return False
        revision = self.doc.revision
        target = self.target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Record which version of the project these edits started from, so a recovered
            # document still refuses to overwrite a project someone else changed meanwhile.
            base = self.doc.disk_state
            info = {"autosave_base": dataclasses.asdict(base) if base is not None else None}
            data = serialize_project(self.doc, target, info)
            atomic_write_bytes(target, data)
        except Exception as exc:  # a failed autosave must be visible, never fatal or silent
            self.last_error = exc
            # retry after delay_s, not on every timer tick
            self._last_change = self.clock() if now is None else now
            self._first_change = self._last_change
            if self.on_error is not None:
                self.on_error(exc)
            return False
        if self.last_written is not None and self.last_written != target:
            # e.g. the untitled sidecar after Save As
            remove_if_unchanged(self.last_written, self.doc.autosave_state)
        self.doc.autosave_state = stat_state(target, sha256_hex(data))
        self.doc.autosave_path = target
        self.last_error = None
        self.last_written = target
        self._written_revision = revision
        self._first_change = self._last_change = None
        return True

    def _drop_obsolete(self) -> None:
        """Once the document is saved (clean), the sidecar it wrote holds nothing new."""
        if not self.doc.dirty and self.last_written is not None:
            remove_if_unchanged(self.last_written, self.doc.autosave_state)
            self.doc.autosave_state = None
            self.doc.autosave_path = None
            self.last_written = None
            self._written_revision = None

    def close(self) -> None:
        """Stop autosaving; removes the sidecar if the document is clean (keeps it otherwise)."""
        self._drop_obsolete()
        self._closed = True


def _holds_work(sidecar: Path, project: Path) -> bool:
    """The sidecar holds work the project file does not: it is newer than the project, or it
    was based on a version of the project other than the current one (another window saved
    the project meanwhile)."""
    side = stat_state(sidecar)
    if side is None:
        return False
    current = stat_state(project)
    if current is None or side.mtime_ns > current.mtime_ns:
        return True
    try:
        _, app = load_project_with_app_info(sidecar, trust_recorded_root=True)  # app info only
    except ValueError:
        return False  # an unreadable leftover older than the project: nothing to offer
    base = app.get("autosave_base")
    project_state = read_disk_state(project)
    if isinstance(base, dict) and project_state is not None:
        return base.get("sha256") != project_state.sha256
    return False


def find_recovery(project_path: str | os.PathLike[str]) -> list[Path]:
    """The project's autosave sidecars (one per writer, and the legacy shared one) that hold
    work the project file does not (see `_holds_work`), newest first; [] if none."""
    project = Path(project_path)
    found = [p for p in sidecar_paths(project) if _holds_work(p, project)]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def find_untitled_recoveries(untitled_dir: Path | None = None) -> list[Path]:
    """Autosaves of untitled projects left by earlier sessions, newest first."""
    folder = untitled_dir or untitled_autosave_dir()
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("untitled-*.autosave.json") if p.is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime_ns, reverse=True)


def load_recovery(
    project_path: str | os.PathLike[str],
    images_root: str | os.PathLike[str] | None = None,
    sidecar: str | os.PathLike[str] | None = None,
) -> Document:
    """Open `sidecar` (default: the newest on disk, see `find_recovery`) as a dirty document
    whose path is the project. Saving it replaces the project, unless the project changed since
    the autosaved edits began (ProjectChangedOnDiskError, as for any save), and removes the
    sidecar. Raises ProjectLoadError."""
    project = Path(project_path)
    if sidecar is None:
        found = find_recovery(project) or sidecar_paths(project)
        sidecar = found[0] if found else sidecar_path(project)
    doc, app = load_project_with_app_info(sidecar, images_root)
    doc.autosave_state = doc.disk_state  # the sidecar as read: removed by the next real save
    doc.autosave_path = Path(sidecar)
    doc.path = project
    try:
        doc.disk_state = DiskState(**app["autosave_base"])
    except (KeyError, TypeError):
        # Unknown base (an untitled project, or an older sidecar): any existing file counts as
        # changed, so saving asks before overwriting it.
        doc.disk_state = _NEVER_MATCHES
    doc.mark_dirty()
    return doc


def load_untitled_recovery(sidecar: str | os.PathLike[str]) -> Document:
    """Open an untitled project's autosave (see `find_untitled_recoveries`) as a dirty, untitled
    document; pass the same path as Autosaver(untitled_path=...). Raises ProjectLoadError."""
    # Written by this app in its own state folder: its recorded images root is the user's choice.
    doc = load_project_with_app_info(sidecar, trust_recorded_root=True)[0]
    doc.autosave_state = doc.disk_state
    doc.autosave_path = Path(sidecar)
    doc.path = None
    doc.disk_state = None
    doc.mark_dirty()
    return doc


def discard_recovery(
    project_path: str | os.PathLike[str], sidecars: Iterable[Path] | None = None
) -> None:
    """Delete the sidecars the user declined to recover (default: all `find_recovery` offers
    now); other writers' sidecars are kept."""
    for sidecar in find_recovery(project_path) if sidecars is None else sidecars:
        Path(sidecar).unlink(missing_ok=True)
