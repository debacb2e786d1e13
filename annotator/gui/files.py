"""Opening, switching images, saving, autosave, import and export for the main window.

A mixin so main_window.py stays composition only; it uses the attributes MainWindow sets up.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from annotator.gui import dialogs
from annotator.gui.history import History
from annotator.gui.panels import ImageStatus
from annotator.gui.project_io import done_images, open_project, set_done
from annotator.gui.prompt_state import PromptSnapshot
from annotator.io.autosave import Autosaver
from annotator.io.coco_store import ProjectChangedOnDiskError, save_project
from annotator.io.document import Document
from annotator.io.images import ImageReadError, read_image

PREFETCH_AHEAD = 2


class FilesMixin:
    # -- opening ---------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        """Open an image, a folder or a project JSON; False (with a message) if it failed."""
        if not self.confirm_discard("opening another project"):
            return False
        try:
            opened = open_project(path, lambda sidecar: dialogs.offer_recovery(self, sidecar))
        except (OSError, ValueError) as exc:
            dialogs.show_error(self, "Cannot open", str(exc))
            return False
        self._adopt_document(opened.doc, opened.images)
        if opened.recovered:
            self.status.showMessage("Recovered the autosaved work; save to keep it", 8000)
        order = self.images  # the first readable image, or the one asked for
        if opened.first in order:
            i = order.index(opened.first)
            order = order[i:] + order[:i]
        for name in order:
            if self.show_image(name, report=name == opened.first):
                break
        else:
            self.refresh_all()
        return True

    def ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open image or project",
            str(self.doc.images_root) if self.doc else "",
            "Images and projects (*.jpg *.jpeg *.png *.tif *.tiff *.bmp *.webp *.json);;"
            "All files (*)",
        )
        if path:
            self.open_path(path)

    def ask_open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder")
        if path:
            self.open_path(path)

    def _image_key(self) -> str | None:
        if self.doc is None or self.current is None:
            return None
        return str((self.doc.images_root / self.current).resolve())

    def show_image(self, name: str, report: bool = True) -> bool:
        """Switch to image `name` (relative to the images root). The object in progress on the
        image left behind is parked and comes back with it; the project autosaves. An image
        that cannot be read is reported (a dialog, or the status bar when not `report`)."""
        if self.doc is None:
            return False
        path = self.doc.images_root / name
        try:
            image = read_image(path)
        except (ImageReadError, OSError) as exc:
            if report:
                dialogs.show_error(self, "Cannot open image", str(exc))
            else:
                self.status.showMessage(str(exc), 10000)
            return False
        if self.current is not None:
            self._parked[self.current] = self.session.state
            if self.autosaver is not None:
                self.autosaver.flush()
        self.history.forget_prompts()
        self.session.restore(self._parked.pop(name, PromptSnapshot()))
        record = self.doc.image_by_file_name(name)
        if record is None:
            height, width = image.shape[:2]  # read_image's shape is the EXIF-rotated size
            was_dirty = self.doc.dirty
            self.image_id = self.doc.add_image(name, width, height)
            if not was_dirty:
                # Only looking at an image is no edit: no "unsaved changes" question, no
                # autosave. The record is saved with the first real change.
                self.doc.mark_clean()
        else:
            self.image_id = record.id
        self.current, self.image = name, image
        self.selected = None
        self.canvas.set_image(image)
        size = (image.shape[1], image.shape[0])
        for tool in self.tools.values():
            tool.image_size = size
        self.client.open_image(self._image_key(), image)
        if self.session.has_prompts and self.session.state.candidates is None:
            self._decode()
        self._prefetch_next()
        self.refresh_all()
        return True

    def _prefetch_next(self) -> None:
        if self.current not in self.images:
            return
        i = self.images.index(self.current)
        nxt = self.images[i + 1 : i + 1 + PREFETCH_AHEAD]
        root = self.doc.images_root
        self.client.prefetch([(str((root / n).resolve()), str(root / n)) for n in nxt])

    def step_image(self, step: int) -> None:
        """D / A: next / previous image in the folder."""
        if not self.images:
            return
        i = self.images.index(self.current) if self.current in self.images else -step
        j = i + step
        if 0 <= j < len(self.images):
            self.show_image(self.images[j])
        else:
            self.status.showMessage("No more images in this direction", 2000)

    def toggle_done(self) -> None:
        if self.doc is not None and self.current is not None:
            set_done(self.doc, self.current, self.current not in done_images(self.doc))
            self.refresh_image_list()

    def image_status(self, name: str, done: set[str]) -> ImageStatus:
        if name in done:
            return ImageStatus.DONE
        record = self.doc.image_by_file_name(name)
        if record is not None and self.doc.annotations_for(record.id):
            return ImageStatus.IN_PROGRESS
        return ImageStatus.UNTOUCHED

    def refresh_image_list(self) -> None:
        if self.doc is not None:
            done = done_images(self.doc)
            rows = [(n, self.image_status(n, done)) for n in self.images]
            self.image_list.set_images(rows, self.current)

    # -- saving ----------------------------------------------------------------------------
    def save(self, path: str | Path | None = None) -> bool:
        """Ctrl+S. Never overwrites a project that changed on disk without asking."""
        if self.doc is None:
            return False
        try:
            written = save_project(self.doc, path)
        except ProjectChangedOnDiskError as exc:
            choice = dialogs.ask_changed_on_disk(self, exc.path)
            if choice == "overwrite":
                written = save_project(self.doc, path, force=True)
            elif choice == "save_as":
                return self.save_as()
            else:
                return False
        except (OSError, ValueError) as exc:
            dialogs.show_error(self, "Save failed", str(exc))
            return False
        self.status.showMessage(f"Saved {written}", 4000)
        self._update_title()
        return True

    def save_as(self) -> bool:
        if self.doc is None:
            return False
        start = str(self.doc.path or self.doc.images_root / "annotations.json")
        path, _ = QFileDialog.getSaveFileName(self, "Save project as", start, "COCO JSON (*.json)")
        return bool(path) and self.save(path)

    def confirm_discard(self, what: str) -> bool:
        """Ask before `what` drops unsaved changes; True if it may go ahead."""
        if self.doc is None or not self.doc.dirty:
            return True
        choice = dialogs.ask_save_changes(self, what)
        if choice == "save":
            return self.save()
        if choice == "discard":
            from annotator.io.autosave import discard_recovery

            if self.autosaver is not None:
                self.autosaver.close()
                self.autosaver = None
            if self.doc.path is not None:
                discard_recovery(self.doc.path)
            return True
        return False

    def _autosave_tick(self) -> None:
        if self.autosaver is not None:
            self.autosaver.maybe_flush()

    def _on_autosave_error(self, exc: Exception) -> None:
        self.status.showMessage(f"Autosave failed: {exc}", 10000)

    # -- import / export -------------------------------------------------------------------
    def export_annotations(self, fmt: str) -> None:
        from annotator.io.formats.export import export_project

        if self.doc is None:
            return
        out = QFileDialog.getExistingDirectory(self, f"Export {fmt} into folder")
        if not out:
            return
        try:
            report = export_project(self.doc.to_coco(), self.doc.images_root, Path(out), fmt)
        except (OSError, ValueError) as exc:
            dialogs.show_error(self, "Export failed", str(exc))
            return
        n = sum(report.annotations.values())
        extra = f" ({len(report.warnings)} warnings)" if report.warnings else ""
        self.status.showMessage(f"Exported {n} masks as {fmt} to {out}{extra}", 8000)

    def _adopt_document(self, doc: Document, images: list[str]) -> None:
        """Make `doc` the window's project; nothing of the previous one carries over."""
        if self.autosaver is not None:
            self.autosaver.close()
        self.doc = doc
        self.autosaver = Autosaver(
            self.doc, delay_s=self.autosave_delay_s, on_error=self._on_autosave_error
        )
        self.doc.add_listener(lambda _ids: self._update_title())
        self.images = images
        self.current = self.image_id = self.image = None
        self.session.clear()
        self.history = History(self.session)  # undo does not reach into another project
        self._parked.clear()
        self._mask_cache.clear()  # annotation ids are reused by the next project
        self.hidden.clear()
        self.selected = None
        self.category_id = None

    def import_annotations(self, fmt: str) -> None:
        """Import COCO or LabelMe annotations as a new project over the same images root."""
        from annotator.io.formats.coco_import import import_coco
        from annotator.io.formats.labelme_import import import_labelme

        if self.doc is None or not self.confirm_discard("importing"):
            return
        if fmt == "coco":
            source, _ = QFileDialog.getOpenFileName(self, "Import COCO", "", "JSON (*.json)")
        else:
            source = QFileDialog.getExistingDirectory(self, "Import LabelMe folder")
        if not source:
            return
        root = self.doc.images_root
        try:
            result = (import_coco if fmt == "coco" else import_labelme)(source, root)
            doc = Document.from_coco(result.coco, root)
        except (OSError, ValueError) as exc:
            dialogs.show_error(self, "Import failed", str(exc))
            return
        doc.path = self.doc.path
        doc.disk_state = self.doc.disk_state
        doc.mark_dirty()
        self.doc.mark_clean()  # the user chose to replace it above
        images = self.images
        self._adopt_document(
            doc, images + [i.file_name for i in doc.images() if i.file_name not in images]
        )
        if self.images:
            self.show_image(self.images[0])
        self.status.showMessage(f"Imported {len(doc.annotations())} masks from {source}", 8000)
