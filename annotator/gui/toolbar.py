"""The main toolbar (issue 15): the tools, zoom, undo / redo, accept and the done marks, as the
window's own actions (so toolbar, menus and keys stay one thing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

GROUPS = (
    ("point", "box", "brush", "eraser", "polygon"),
    ("zoom_in", "zoom_out", "fit", "one"),
    ("undo", "redo", "commit", "clear"),
    ("done", "unfinished", "prev", "next"),
)


def build_toolbar(win: MainWindow) -> QToolBar:
    bar = QToolBar("Tools", win)
    bar.setObjectName("Tools")  # saveState / restoreState find it by name
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for i, group in enumerate(GROUPS):
        if i:
            bar.addSeparator()
        for key in group:
            bar.addAction(win.actions_by_name[key])
    win.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    return bar
