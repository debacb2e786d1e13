"""Categories: pick the current one (keys 1-9), add, rename (or double-click), recolor; the
right-click menu also moves, merges and deletes."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMenu,
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
    deleteRequested = Signal(int)  # the window asks first (it knows how many masks)
    mergeRequested = Signal(int, int)  # category id, into category id
    moveRequested = Signal(int, int)  # category id, -1 up / +1 down

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
        self.list.itemDoubleClicked.connect(lambda _item: self._ask_rename())
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self._names: list[str] = []

    def set_categories(self, categories: Sequence[Category], current: int | None) -> None:
        self._updating = True
        try:
            self.list.clear()
            self._ids = [c.id for c in categories]
            self._names = [c.name for c in categories]
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
        old = self._names[self._ids.index(cat_id)]
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

    def context_menu(self) -> QMenu | None:
        """The right-click menu of the current category (None without one)."""
        cat_id = self.current_id()
        if cat_id is None:
            return None
        menu = QMenu(self)
        menu.addAction("Rename…", self._ask_rename)
        menu.addAction("Color…", self._ask_recolor)
        menu.addSeparator()
        menu.addAction("Move up", lambda: self.moveRequested.emit(cat_id, -1))
        menu.addAction("Move down", lambda: self.moveRequested.emit(cat_id, +1))
        merge = menu.addMenu("Merge into")
        for other, name in zip(self._ids, self._names, strict=True):
            if other != cat_id:
                merge.addAction(name, lambda o=other: self.mergeRequested.emit(cat_id, o))
        merge.setEnabled(len(self._ids) > 1)
        menu.addSeparator()
        menu.addAction("Delete with its masks…", lambda: self.deleteRequested.emit(cat_id))
        return menu

    def _context_menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        if item is not None:
            self.list.setCurrentItem(item)
        menu = self.context_menu()
        if menu is not None:
            menu.exec(self.list.viewport().mapToGlobal(pos))
