"""Help ▸ Keyboard and mouse: every shortcut, read from the window's own actions."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTableWidget, QTableWidgetItem, QVBoxLayout

MOUSE_ROWS = (
    ("Left click (Point tool)", "Add a foreground point"),
    ("Right click / Shift+click", "Add a background point"),
    ("Drag (Box tool)", "Draw a box; drag its handles to adjust it"),
    ("Drag (Brush / Eraser)", "Paint onto / erase from the current mask"),
    ("Ctrl+click", "Select the mask under the cursor"),
    ("Mouse wheel", "Zoom around the cursor"),
    ("Middle drag / Space+drag", "Pan"),
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    rows = []
    for a in actions:
        keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()]
        if keys:
            rows.append((" / ".join(keys), a.text().replace("&", "").rstrip("…")))
    return rows


class HelpDialog(QDialog):
    def __init__(self, actions: Iterable[QAction], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("annotator — keyboard and mouse")
        self.rows = shortcut_rows(actions) + list(MOUSE_ROWS)
        table = QTableWidget(len(self.rows), 2)
        table.setHorizontalHeaderLabels(["Key", "Action"])
        table.verticalHeader().hide()
        table.horizontalHeader().setStretchLastSection(True)
        for r, (key, what) in enumerate(self.rows):
            table.setItem(r, 0, QTableWidgetItem(key))
            table.setItem(r, 1, QTableWidgetItem(what))
        table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(520, 560)
