"""Help (F1): how the workflow goes (candidates, done marks, autosave, hidden masks, undo),
then every shortcut, grouped by menu and read from the window's own actions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

WORKFLOW = """<h3>How annotating goes</h3>
<ol>
<li><b>Prompt</b>: click the object (Point tool, C) or drag a box around it (B). Right click or
Shift+click marks background. Each click refines the mask.</li>
<li><b>Candidates</b>: a first click is ambiguous, so up to three masks appear over the image's
top-left corner with their scores; click one or press Tab.</li>
<li><b>Touch up</b>: Brush (R) and Eraser (E) paint onto the mask; Polygon (P) shows its
vertices to drag, insert (click an edge) or delete (right click); [ ] change the brush size or
the polygon's detail.</li>
<li><b>Accept</b> with Enter; the label pop-up asks for the category (type to search, Enter to
take, a new name creates it). Keys 1-9 relabel the selected masks, or pick the next category.
</li>
<li><b>Edit later</b>: double-click a mask (or select it and press Enter, E, R or P) to make it
the object in progress again; Enter writes it back.</li>
<li><b>Done marks</b>: Ctrl+D marks the image done (● in the image list, "37 / 500 done" in the
status bar); N jumps to the next unfinished image, D / A to the next / previous one.</li>
</ol>
<p><b>Autosave</b> keeps every change (and the objects not accepted yet) in a file beside the
project a few seconds after each edit and on every image switch; after a crash the app offers
it back. Ctrl+S saves the project itself. <b>Hidden masks</b> (H, or the check box in the mask
list) are only hidden from view: they are saved and exported. <b>Undo</b> (Ctrl+Z) is per image:
it undoes the last change on the image shown, and the status bar says what it undid.</p>
"""

MOUSE_ROWS = (
    ("Left click (Point tool)", "Add a foreground point"),
    ("Right click / Shift+click", "Add a background point"),
    ("Drag (Box tool)", "Draw a box; drag its handles to adjust it"),
    ("Drag (Brush / Eraser)", "Paint onto / erase from the current mask"),
    ("Drag a vertex (Polygon)", "Move it; click an edge to add one, right click to delete"),
    ("Double-click a mask", "Edit it again"),
    ("Ctrl+click / Ctrl+Shift+click", "Select the mask under the cursor / add it"),
    ("Mouse wheel", "Zoom around the cursor"),
    ("Middle drag / Space+drag", "Pan"),
    ("Drop files or folders", "Open them"),
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    rows = []
    for a in actions:
        keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()]
        if keys:
            rows.append((" / ".join(keys), a.text().replace("&", "").rstrip("…")))
    return rows


class HelpDialog(QDialog):
    """actions: the window's actions, or (group title, actions) pairs (one per menu)."""

    def __init__(
        self, actions: Iterable[QAction] | Sequence[tuple[str, Iterable[QAction]]], parent=None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("annotator — help")
        items = list(actions)
        groups = items if items and isinstance(items[0], tuple) else [("Keys", items)]
        table_rows: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for title, group in [*groups, ("Mouse", None)]:
            rows = list(MOUSE_ROWS) if group is None else shortcut_rows(group)
            rows = [r for r in rows if r not in seen]
            if rows:
                table_rows.append((f"— {title.replace('&', '')} —", ""))
                table_rows += rows
                seen.update(rows)
        self.rows = [r for r in table_rows if r[1]]
        text = QLabel(WORKFLOW)
        text.setWordWrap(True)
        table = QTableWidget(len(table_rows), 2)
        table.setHorizontalHeaderLabels(["Key", "Action"])
        table.verticalHeader().hide()
        table.horizontalHeader().setStretchLastSection(True)
        for r, (key, what) in enumerate(table_rows):
            table.setItem(r, 0, QTableWidgetItem(key))
            table.setItem(r, 1, QTableWidgetItem(what))
        table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(table, 1)
        layout.addWidget(buttons)
        self.resize(640, 760)
