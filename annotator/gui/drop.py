"""Drag-and-drop onto the window (issue 15): an image of the open project's folder is shown;
any other image, folder or project file is opened (as File ▸ Open would)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject

from annotator.gui.session.project_io import _relative

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow


def dropped_paths(mime) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()] if mime.hasUrls() else []


class DropOpener(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.win = window
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        kind = ev.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_paths(ev.mimeData()):
                ev.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            paths = dropped_paths(ev.mimeData())
            if paths:
                ev.acceptProposedAction()
                self.open(paths)
                return True
        return super().eventFilter(obj, ev)

    def open(self, paths: list[Path]) -> None:
        """Show or open the first dropped path."""
        path = paths[0]
        s = self.win.session
        if s.doc is not None and path.is_file():
            try:
                name = _relative(path, s.doc.images_root)
            except ValueError:
                name = None
            if name in s.images:
                self.win.files.show_image(name)
                return
        self.win.open_path(path)
        if len(paths) > 1:
            self.win.status.showMessage(f"Opened {path.name}; drop one item at a time", 6000)
