"""Categories: pick the current one (keys 1-9), add, rename, recolor."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.widgets.panels.common import color_icon
from annotator.io.document import Category


class CategoriesPanel(QWidget):
    currentChanged = Signal(int)  # category id
    addRequested = Signal(str)
    renameRequested = Signal(int, str)
    recolorRequested = Signal(int, str)  # category id, "#rrggbb"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        add, rename, recolor = QPushButton("Add…"), QPushButton("Rename…"), QPushButton("Color…")
        row = QHBoxLayout()
        for b in (add, rename, recolor):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addLayout(row)
        self._ids: list[int] = []
        self._updating = False
        self.list.currentRowChanged.connect(self._on_row)
        add.clicked.connect(self._ask_add)
        rename.clicked.connect(self._ask_rename)
        recolor.clicked.connect(self._ask_recolor)

    def set_categories(self, categories: Sequence[Category], current: int | None) -> None:
        self._updating = True
        try:
            self.list.clear()
            self._ids = [c.id for c in categories]
            for i, c in enumerate(categories):
                key = f"{i + 1}  " if i < 9 else "   "
                self.list.addItem(QListWidgetItem(color_icon(c.color), f"{key}{c.name}"))
            if current in self._ids:
                self.list.setCurrentRow(self._ids.index(current))
        finally:
            self._updating = False

    def current_id(self) -> int | None:
        row = self.list.currentRow()
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def _on_row(self, row: int) -> None:
        if not self._updating and 0 <= row < len(self._ids):
            self.currentChanged.emit(self._ids[row])

    def _ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add category", "Name:")
        if ok and name.strip():
            self.addRequested.emit(name.strip())

    def _ask_rename(self) -> None:
        cat_id = self.current_id()
        if cat_id is None:
            return
        old = self.list.currentItem().text()[3:]
        name, ok = QInputDialog.getText(self, "Rename category", "Name:", text=old)
        if ok and name.strip():
            self.renameRequested.emit(cat_id, name.strip())

    def _ask_recolor(self) -> None:
        cat_id = self.current_id()
        if cat_id is None:
            return
        color = QColorDialog.getColor(parent=self, title="Category color")
        if color.isValid():
            self.recolorRequested.emit(cat_id, QColor(color).name())
