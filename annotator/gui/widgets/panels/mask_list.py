"""Mask list for the current image: visibility, id, category, area, score."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.widgets.panels.common import color_icon
from annotator.io.document import Annotation, Category

COLUMNS = ("", "ID", "Category", "Area", "Score")


class MaskListPanel(QWidget):
    selected = Signal(object)  # annotation id (int) or None
    visibilityChanged = Signal(int, bool)
    deleteRequested = Signal(int)
    categoryRequested = Signal(int, int)  # annotation id, category id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((26, 36, 110, 70)):
            self.table.setColumnWidth(col, width)
        self.category_box = QComboBox()
        self.category_box.setToolTip("Change the selected mask's category")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected mask (Delete)")
        row = QHBoxLayout()
        row.addWidget(self.category_box, 1)
        row.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table)
        layout.addLayout(row)
        self._ids: list[int] = []
        self._updating = False
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)
        self.delete_button.clicked.connect(self._on_delete)
        self.category_box.activated.connect(self._on_category)

    def set_rows(
        self,
        annotations: Sequence[Annotation],
        categories: Sequence[Category],
        hidden: set[int],
        selected: int | None,
    ) -> None:
        self._updating = True
        try:
            cats = {c.id: c for c in categories}
            self.category_box.clear()
            for c in categories:
                self.category_box.addItem(color_icon(c.color), c.name, c.id)
            self.table.setRowCount(len(annotations))
            self._ids = [a.id for a in annotations]
            for r, ann in enumerate(annotations):
                vis = QTableWidgetItem()
                vis.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                vis.setCheckState(
                    Qt.CheckState.Unchecked if ann.id in hidden else Qt.CheckState.Checked
                )
                vis.setToolTip("Show or hide this mask")
                cat = cats.get(ann.category_id)
                score = ann.provenance.get("predicted_iou")
                cells = [
                    vis,
                    QTableWidgetItem(str(ann.id)),
                    QTableWidgetItem(cat.name if cat else "?"),
                    QTableWidgetItem(str(ann.area)),
                    QTableWidgetItem("" if score is None else f"{score:.3f}"),
                ]
                if cat is not None:
                    cells[2].setIcon(color_icon(cat.color))
                for col, item in enumerate(cells):
                    self.table.setItem(r, col, item)
            self.select(selected)
        finally:
            self._updating = False

    def select(self, ann_id: int | None) -> None:
        was = self._updating
        self._updating = True
        try:
            if ann_id in self._ids:
                row = self._ids.index(ann_id)
                self.table.selectRow(row)
                ann_cat = self.table.item(row, 2).text()
                idx = self.category_box.findText(ann_cat)
                if idx >= 0:
                    self.category_box.setCurrentIndex(idx)
            else:
                self.table.clearSelection()
        finally:
            self._updating = was

    def selected_id(self) -> int | None:
        rows = {i.row() for i in self.table.selectedIndexes()}
        return self._ids[min(rows)] if rows else None

    def _on_selection(self) -> None:
        if not self._updating:
            self.selected.emit(self.selected_id())

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != 0:
            return
        self.visibilityChanged.emit(
            self._ids[item.row()], item.checkState() == Qt.CheckState.Checked
        )

    def _on_delete(self) -> None:
        ann_id = self.selected_id()
        if ann_id is not None:
            self.deleteRequested.emit(ann_id)

    def _on_category(self, index: int) -> None:
        ann_id = self.selected_id()
        if ann_id is not None and index >= 0:
            self.categoryRequested.emit(ann_id, int(self.category_box.itemData(index)))
