"""The folder's images, each marked done / in progress / untouched, with a filter."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from annotator.gui.session.project_io import ImageStatus

MARKS = {
    ImageStatus.UNTOUCHED: "○",
    ImageStatus.IN_PROGRESS: "◐",
    ImageStatus.DONE: "●",
    ImageStatus.UNREADABLE: "✕",
}
FILTERS = ("All", "Untouched", "In progress", "Done", "Unreadable")


class ImageListPanel(QWidget):
    activated = Signal(str)  # file name (relative to the images root)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter by name")
        self.text_filter.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItems(FILTERS)
        self.list = QListWidget()
        row = QHBoxLayout()
        row.addWidget(self.text_filter, 1)
        row.addWidget(self.status_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.list)
        self._rows: list[tuple[str, ImageStatus]] = []
        self._items: dict[str, QListWidgetItem] = {}  # the rows shown, by name
        self._current: str | None = None
        self.text_filter.textChanged.connect(self._refilter)
        self.status_filter.currentIndexChanged.connect(self._refilter)
        self.list.itemActivated.connect(self._on_activated)
        self.list.itemClicked.connect(self._on_activated)

    def set_images(self, rows: Sequence[tuple[str, ImageStatus]], current: str | None) -> None:
        rows = list(rows)
        old, self._rows, self._current = self._rows, rows, current
        if not self._patch(old, rows):
            self._refilter()

    def _patch(self, old: list, rows: list) -> bool:
        """Update only the rows whose status changed (a propagation changes one frame's status
        at a time; rebuilding a 1,000-frame list took the UI ~50 ms a frame). False when the
        list must be rebuilt: other images, or a status filter that may hide a changed row."""
        if len(old) != len(rows) or self.list.count() != len(self._items):
            return False
        changed = [
            (i, row) for i, (was, row) in enumerate(zip(old, rows, strict=True)) if was != row
        ]
        if any(old[i][0] != name for i, (name, _) in changed):
            return False
        if changed and self.status_filter.currentText() != "All":
            return False
        for _i, (name, status) in changed:
            item = self._items.get(name)
            if item is not None:
                item.setText(f"{MARKS[status]}  {name}")
                item.setToolTip(status.value)
        current = self._items.get(self._current)
        if current is not self.list.currentItem():
            self.list.blockSignals(True)
            self.list.setCurrentItem(current)
            self.list.blockSignals(False)
        return True

    def visible_names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def _refilter(self) -> None:
        text = self.text_filter.text().strip().lower()
        wanted = self.status_filter.currentText().lower()
        self.list.blockSignals(True)
        self.list.clear()
        self._items = {}
        for name, status in self._rows:
            if text and text not in name.lower():
                continue
            if wanted != "all" and status.value != wanted:
                continue
            item = QListWidgetItem(f"{MARKS[status]}  {name}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(status.value)
            self.list.addItem(item)
            self._items[name] = item
            if name == self._current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)

    def _on_activated(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if name != self._current:
            self.activated.emit(name)
