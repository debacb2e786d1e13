"""The window's file dialogs and questions: open, switch image, save, import, export.

A thin view helper: the project state and its rules live in the app session; this module asks
the user (file choosers, "save changes?", errors) and calls the session.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from annotator.gui.session.import_merge import merge_import
from annotator.gui.session.project_io import (
    LAST_IMAGE_KEY,
    export_refusal,
    folder_is_empty,
    next_unfinished,
    open_project,
)
from annotator.gui.widgets import dialogs, export_dialog
from annotator.io.coco_store import ProjectChangedOnDiskError, save_project
from annotator.io.document import Document
from annotator.io.images import ImageReadError
from annotator.io.validation import UntrustedImagesRootError

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow


class ProjectFiles:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = window.session

    def _message(self, text: str, ms: int) -> None:
        self.win.status.showMessage(text, ms)

    # -- opening ---------------------------------------------------------------------------
    def open_path(self, path: str | Path, images_root: str | Path | None = None) -> bool:
        """Open an image, a folder or a project JSON; False (with a message) if it failed.

        A project whose recorded images folder lies outside its own folder is opened only after
        the user confirms that folder (or picks another): a file's paths are not trusted.
        """
        if not self.confirm_discard("opening another project"):
            return False
        offer = lambda sidecar: dialogs.offer_recovery(self.win, sidecar)  # noqa: E731
        try:
            try:
                opened = open_project(path, offer, images_root)
            except UntrustedImagesRootError as exc:
                chosen = dialogs.ask_images_root(self.win, exc.path, exc.recorded)
                if chosen is None:
                    self._message("Not opened: no images folder chosen", 8000)
                    return False
                opened = open_project(path, offer, chosen)
        except (OSError, ValueError) as exc:
            dialogs.show_error(self.win, "Cannot open", str(exc))
            return False
        self.session.adopt(opened.doc, opened.images)
        self.win.labels.project_opened()
        self.win.settings.opened(path)
        if opened.recovered:
            kept = len(opened.kept_recoveries)
            also = f"; {kept} more autosave(s) kept, offered next time" if kept else ""
            self._message(f"Recovered the autosaved work; save to keep it{also}", 8000)
        if opened.escaping_links:
            names = ", ".join(opened.escaping_links[:3])
            more = len(opened.escaping_links) - 3
            self._message(
                f"Left out links that lead outside the images folder: {names}"
                + (f" and {more} more" if more > 0 else ""),
                12000,
            )
        order = self.session.images  # the first readable image, the one asked for, or the
        first = opened.first  # one where the user stopped last time
        if first is None and opened.doc.extra.get(LAST_IMAGE_KEY) in order:
            first = opened.doc.extra[LAST_IMAGE_KEY]
        if first in order:
            i = order.index(first)
            order = order[i:] + order[:i]
        for name in order:
            if self.show_image(name, report=name == opened.first):
                break
        return True

    def ask_open_file(self) -> None:
        doc = self.session.doc
        path, _ = QFileDialog.getOpenFileName(
            self.win,
            "Open image or project",
            str(doc.images_root) if doc else self.win.settings.last_folder(),
            "Images and projects (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.json);;"
            "All files (*)",
        )
        if path:
            self.open_path(path)

    def ask_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.win, "Open folder", self.win.settings.last_folder()
        )
        if path:
            self.open_path(path)

    def show_image(self, name: str, report: bool = True) -> bool:
        """Switch to image `name` (relative to the images root). An image that cannot be read
        is reported (a dialog, or the status bar when not `report`) and the current one stays."""
        try:
            return self.session.open_image(name)
        except (ImageReadError, OSError) as exc:
            if report:
                dialogs.show_error(self.win, "Cannot open image", str(exc))
            else:
                self._message(str(exc), 10000)
            return False

    def step_image(self, step: int) -> None:
        """D / A: next / previous image in the folder."""
        if not self.session.images:
            return
        name = self.session.neighbour(step)
        if name is None:
            self._message("No more images in this direction", 2000)
        else:
            self.show_image(name)

    def next_unfinished(self) -> None:
        """N: the next image not marked done."""
        name = next_unfinished(self.session.image_rows(), self.session.current)
        if name is None:
            self._message("Every image is marked done", 4000)
        else:
            self.show_image(name)

    # -- saving ----------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> bool:
        """Ctrl+S. Never overwrites a project that changed on disk without asking."""
        doc = self.session.doc
        if doc is None:
            return False
        self.session.pending.sync()  # objects not accepted yet are saved with the project
        try:
            written = save_project(doc, path)
        except ProjectChangedOnDiskError as exc:
            choice = dialogs.ask_changed_on_disk(self.win, exc.path)
            if choice == "overwrite":
                written = save_project(doc, path, force=True)
            elif choice == "save_as":
                return self.save_as()
            else:
                return False
        except (OSError, ValueError) as exc:
            dialogs.show_error(self.win, "Save failed", str(exc))
            return False
        self._message(f"Saved {written}", 4000)
        self.win.view.update_title()
        return True

    def save_as(self) -> bool:
        doc = self.session.doc
        if doc is None:
            return False
        start = str(doc.path or doc.images_root / "annotations.json")
        path, _ = QFileDialog.getSaveFileName(
            self.win, "Save project as", start, "COCO JSON (*.json)"
        )
        return bool(path) and self.save(path)

    def confirm_discard(self, what: str) -> bool:
        """Ask before `what` drops unsaved changes (objects in progress included); True if it
        may go ahead."""
        self.session.pending.sync()
        doc = self.session.doc
        if doc is None or not doc.dirty:
            return True
        choice = dialogs.ask_save_changes(self.win, what)
        if choice == "save":
            return self.save()
        if choice == "discard":
            self.session.discard_recovery()
            return True
        return False

    # -- import / export -------------------------------------------------------------------
    def export_annotations(self, fmt: str = "coco") -> None:
        """File ▸ Export: the options dialog, then a dataset in a new folder (a YOLO export
        copies the images by default, so its data.yaml points at files that are there)."""
        from annotator.io.formats.export import export_project

        doc = self.session.doc
        if doc is None:
            return
        stem = doc.path.stem if doc.path is not None else "dataset"
        start = doc.path.parent if doc.path is not None else doc.images_root
        opts = export_dialog.ask_export_options(self.win, fmt, start, f"{stem}-{fmt}")
        if opts is None:
            return
        folder = opts.folder
        refusal = export_refusal(folder, doc.path)
        if refusal is not None:  # never over the open project, confirmed or not
            dialogs.show_error(self.win, "Export refused", refusal)
            return
        if not folder_is_empty(folder) and not dialogs.confirm_nonempty_export(self.win, folder):
            self._message(f"Not exported: {folder} is not empty", 6000)
            return
        try:
            report = export_project(
                doc.to_coco(), doc.images_root, folder, opts.fmt, split=opts.split,
                copy_images=opts.copy_images, tolerance=opts.tolerance,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            dialogs.show_error(self.win, "Export failed", str(exc))
            return
        n, images = sum(report.annotations.values()), sum(report.images.values())
        parts = ", ".join(f"{k} {v}" for k, v in report.images.items() if k)
        summary = f"Exported {n} masks on {images} images as {opts.fmt} to {folder}"
        summary += f" ({parts})" if parts else ""
        self._message(summary, 8000)
        lines = [f"note: {x}" for x in report.notes] + [f"warning: {x}" for x in report.warnings]
        if lines:
            dialogs.show_report(self.win, "Export finished", summary, lines)

    def _read_import(self, fmt: str) -> tuple[str, Document, list[str]] | None:
        """Ask for the source and read it over the project's images root: (source, its
        document, the importer's warnings), or None (cancelled or failed, with a message)."""
        from annotator.io.formats.coco_import import import_coco
        from annotator.io.formats.labelme_import import import_labelme

        if fmt == "coco":
            source, _ = QFileDialog.getOpenFileName(self.win, "Import COCO", "", "JSON (*.json)")
        else:
            source = QFileDialog.getExistingDirectory(self.win, "Import LabelMe folder")
        if not source:
            return None
        root = self.session.doc.images_root
        try:
            result = (import_coco if fmt == "coco" else import_labelme)(source, root)
            return source, Document.from_coco(result.coco, root), result.warnings
        except (OSError, ValueError) as exc:
            dialogs.show_error(self.win, "Import failed", str(exc))
            return None

    def import_annotations(self, fmt: str) -> None:
        """Import COCO or LabelMe annotations into the open project: a merge, one undo step."""
        if self.session.doc is None:
            return
        read = self._read_import(fmt)
        if read is None:
            return
        source, imported, warnings = read
        summary = merge_import(self.session, imported, Path(source).name)
        if summary is not None and warnings:
            dialogs.show_report(
                self.win, "Import finished", f"Imported: {summary.text()}", warnings
            )

    def replace_with_import(self, fmt: str) -> None:
        """The explicit other choice: the import becomes the project (after a confirmation);
        the next save writes it over the project file."""
        old = self.session.doc
        if old is None or not dialogs.confirm_replace_project(self.win, old.path):
            return
        if not self.confirm_discard("replacing the project"):
            return
        read = self._read_import(fmt)
        if read is None:
            return
        source, doc, _warnings = read
        doc.path = old.path
        doc.disk_state = old.disk_state
        doc.mark_dirty()
        old.mark_clean()  # the user chose to replace it above
        images = self.session.images
        self.session.adopt(
            doc, images + [i.file_name for i in doc.images() if i.file_name not in images]
        )
        if self.session.images:
            self.show_image(self.session.images[0])
        self._message(
            f"Replaced the project with {len(doc.annotations())} masks from {source}", 8000
        )
