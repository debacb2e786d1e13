"""The label pop-up on accept: type to search the categories, Enter to take one; recently
used labels come first, and a name that is not there yet creates that category."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPoint, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

_OWN_KEYS = {Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape, Qt.Key.Key_Up, Qt.Key.Key_Down}


MAX_LIST_PX = 180


class _SearchEdit(QLineEdit):
    """Keeps Enter, Esc and the arrows (the window's shortcuts otherwise) and every typed key."""

    def event(self, ev) -> bool:
        if ev.type() == QEvent.Type.ShortcutOverride and (
            ev.key() in _OWN_KEYS or (ev.text() and ev.text().isprintable())
        ):
            ev.accept()
            return True
        return super().event(ev)


class LabelPopup(QFrame):
    """A small frame floating over its parent (the canvas) near the accepted mask."""

    chosen = Signal(str)  # a category name (maybe new)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.edit = _SearchEdit()
        self.edit.setPlaceholderText("Label: type to search or create")
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        hint = QLabel("Enter takes it · Esc keeps the current one")
        hint.setStyleSheet("color: gray; font-size: 10px")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        layout.addWidget(hint)
        self.setFixedWidth(220)
        self._names: list[str] = []
        self.edit.textChanged.connect(self._filter)
        self.edit.installEventFilter(self)
        self.list.itemClicked.connect(lambda item: self._take(item.data(Qt.ItemDataRole.UserRole)))
        self.hide()

    def open_at(self, names: Sequence[str], pos: QPoint) -> None:
        """Show `names` (recent first) with the pop-up's top-left at `pos` (parent pixels,
        kept inside the parent), and take the keyboard."""
        self._names = list(names)
        self.edit.clear()
        self._filter("")
        self.adjustSize()
        parent = self.parentWidget()
        x = min(max(pos.x(), 0), max(parent.width() - self.width(), 0))
        y = min(max(pos.y(), 0), max(parent.height() - self.height(), 0))
        self.move(x, y)
        self.show()
        self.raise_()
        self.edit.setFocus()

    def _filter(self, text: str) -> None:
        """Matching names (those starting with the text first), then "Create “text”" when the
        text is not a name yet; the first row is current."""
        needle = text.strip().lower()
        self.list.clear()
        matches = [n for n in self._names if needle in n.lower()]
        matches.sort(key=lambda n: not n.lower().startswith(needle))
        for name in matches:
            self._add_row(name, name)
        if needle and needle not in {n.lower() for n in self._names}:
            self._add_row(f"Create “{text.strip()}”", text.strip())
        if self.list.count():
            self.list.setCurrentRow(0)
        rows = max(self.list.count(), 1)
        self.list.setFixedHeight(min(MAX_LIST_PX, rows * self.list.sizeHintForRow(0) + 6))
        self.adjustSize()

    def _add_row(self, text: str, name: str) -> None:
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, name)
        self.list.addItem(item)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.edit and ev.type() == QEvent.Type.KeyPress:
            key = ev.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._take(item.data(Qt.ItemDataRole.UserRole))
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                step = -1 if key == Qt.Key.Key_Up else 1
                row = min(max(self.list.currentRow() + step, 0), self.list.count() - 1)
                self.list.setCurrentRow(row)
                return True
        return super().eventFilter(obj, ev)

    def _take(self, name: str) -> None:
        self.hide()
        if name.strip():
            self.chosen.emit(name.strip())
