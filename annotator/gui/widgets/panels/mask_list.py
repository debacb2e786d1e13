"""Mask list for the current image: visibility, id, category, area, score."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QMenu,
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
    """Ctrl/Shift+click selects several rows; the category box and Delete act on all."""

    selected = Signal(object)  # the primary selected annotation id (int) or None
    selectionChanged = Signal(list)  # every selected annotation id, the primary last
    visibilityChanged = Signal(int, bool)
    deleteRequested = Signal()  # the selected masks
    relabelRequested = Signal(int)  # category id for the selected masks
    hideRequested = Signal()  # hide / show the selected masks
    editRequested = Signal(int)  # reopen this mask for editing

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((26, 36, 110, 70)):
            self.table.setColumnWidth(col, width)
        self.category_box = QComboBox()
        self.category_box.setToolTip("Change the selected masks' category (keys 1-9)")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected masks (Delete)")
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
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.cellDoubleClicked.connect(
            lambda row, _col: self.editRequested.emit(self._ids[row])
        )

    def set_rows(
        self,
        annotations: Sequence[Annotation],
        categories: Sequence[Category],
        hidden: set[int],
        selected: Sequence[int],
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
                    id_item(ann),
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

    def select(self, ids: Sequence[int]) -> None:
        """Select the rows of `ids` (the last one current); none when empty."""
        was = self._updating
        self._updating = True
        try:
            self.table.clearSelection()
            rows = [self._ids.index(i) for i in ids if i in self._ids]
            model = self.table.selectionModel()
            flags = model.SelectionFlag.Select | model.SelectionFlag.Rows
            for row in rows:
                model.select(self.table.model().index(row, 0), flags)
            if rows:
                self.table.setCurrentCell(rows[-1], 1, model.SelectionFlag.NoUpdate)
                idx = self.category_box.findText(self.table.item(rows[-1], 2).text())
                if idx >= 0:
                    self.category_box.setCurrentIndex(idx)
        finally:
            self._updating = was

    def selected_ids(self) -> list[int]:
        """Selected rows' annotation ids in row order, the current row's last."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        current = self.table.currentRow()
        if current in rows:
            rows = [r for r in rows if r != current] + [current]
        return [self._ids[r] for r in rows]

    def selected_id(self) -> int | None:
        ids = self.selected_ids()
        return ids[-1] if ids else None

    def _on_selection(self) -> None:
        if not self._updating:
            self.selectionChanged.emit(self.selected_ids())
            self.selected.emit(self.selected_id())

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != 0:
            return
        self.visibilityChanged.emit(
            self._ids[item.row()], item.checkState() == Qt.CheckState.Checked
        )

    def _on_delete(self) -> None:
        if self.selected_ids():
            self.deleteRequested.emit()

    def _on_category(self, index: int) -> None:
        if self.selected_ids() and index >= 0:
            self.relabelRequested.emit(int(self.category_box.itemData(index)))

    def context_menu(self) -> QMenu | None:
        """The right-click menu of the selected masks (None without a selection)."""
        ids = self.selected_ids()
        if not ids:
            return None
        menu = QMenu(self)
        if len(ids) == 1:
            menu.addAction("Edit mask (Enter)", lambda: self.editRequested.emit(ids[0]))
        relabel = menu.addMenu(f"Relabel {len(ids)} as")
        for i in range(self.category_box.count()):
            cat = int(self.category_box.itemData(i))
            relabel.addAction(
                self.category_box.itemIcon(i),
                self.category_box.itemText(i),
                lambda c=cat: self.relabelRequested.emit(c),
            )
        menu.addAction("Hide / show (H)", self.hideRequested.emit)
        menu.addSeparator()
        menu.addAction("Delete (Del)", self.deleteRequested.emit)
        return menu

    def _context_menu(self, pos) -> None:
        menu = self.context_menu()
        if menu is not None:
            menu.exec(self.table.viewport().mapToGlobal(pos))


def id_item(ann: Annotation) -> QTableWidgetItem:
    """The annotation's id; on a frame, its object's persistent track id ("#3")."""
    track = ann.provenance.get("track_id")
    if track is None:
        return QTableWidgetItem(str(ann.id))
    item = QTableWidgetItem(f"#{track}")
    item.setToolTip(f"Object {track} of the sequence (annotation {ann.id})")
    return item
