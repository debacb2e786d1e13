"""Settings remembered across sessions (QSettings, issue 15): window geometry and docks, the
last folder, recent files (File ▸ Open Recent), the last model and precision. Plain
``annotator`` reopens the last project. ``ANNOTATOR_SETTINGS`` names another settings file
(the tests use one each)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

RECENT_LIMIT = 10
SCREEN_SHARE = 0.9  # the first window takes ~90% of the available screen


def open_settings() -> QSettings:
    path = os.environ.get("ANNOTATOR_SETTINGS")
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings("annotator", "annotator")


def last_project() -> Path | None:
    """The most recent project or folder that still exists, for plain `annotator`."""
    for p in _recent(open_settings()):
        if Path(p).exists():
            return Path(p)
    return None


def _recent(store: QSettings) -> list[str]:
    value = store.value("recent", [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value or []]


class AppSettings:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.store = open_settings()

    # -- window -------------------------------------------------------------------------------
    def restore_window(self) -> None:
        """Last geometry and docks, or ~90% of the screen, centred, on the first run."""
        geometry = self.store.value("window/geometry")
        if geometry is not None and self.win.restoreGeometry(geometry):
            state = self.store.value("window/state")
            if state is not None:
                self.win.restoreState(state)
            return
        screen = self.win.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry()
        w, h = int(avail.width() * SCREEN_SHARE), int(avail.height() * SCREEN_SHARE)
        self.win.resize(w, h)
        w, h = self.win.width(), self.win.height()  # no smaller than the window's minimum
        x = avail.x() + max((avail.width() - w) // 2, 0)  # never off the screen's left / top
        y = avail.y() + max((avail.height() - h) // 2, 0)
        self.win.move(x, y)

    def save_window(self) -> None:
        self.store.setValue("window/geometry", self.win.saveGeometry())
        self.store.setValue("window/state", self.win.saveState())
        self.store.sync()

    # -- files ----------------------------------------------------------------------------------
    def opened(self, path: str | Path) -> None:
        """A project, folder or image was opened: it heads the recent list; its folder is the
        last folder."""
        p = str(Path(path).expanduser().resolve())
        self.store.setValue(
            "recent", [p, *(r for r in _recent(self.store) if r != p)][:RECENT_LIMIT]
        )
        self.store.setValue("last_folder", p if Path(p).is_dir() else str(Path(p).parent))
        self.store.sync()

    def recent(self) -> list[str]:
        return _recent(self.store)

    def last_folder(self) -> str:
        return str(self.store.value("last_folder", ""))

    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        for p in self.recent():
            menu.addAction(p, lambda p=p: self.win.open_path(p))
        if menu.isEmpty():
            menu.addAction("(none yet)").setEnabled(False)

    # -- model ----------------------------------------------------------------------------------
    def model_loaded(self, checkpoint: str | None, model_type: str, dtype: str) -> None:
        self.store.setValue("model/checkpoint", checkpoint or "")
        self.store.setValue("model/type", model_type)
        self.store.setValue("model/dtype", dtype)

    def last_model(self) -> tuple[str | None, str, str] | None:
        """(checkpoint or None for the bundled one, model type, precision), or None."""
        if not self.store.contains("model/type"):
            return None
        ckpt = str(self.store.value("model/checkpoint", "")) or None
        return ckpt, str(self.store.value("model/type")), str(self.store.value("model/dtype"))
