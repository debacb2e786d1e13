"""View ▸ options (issue 15): mask opacity, show / hide all, solo the selected, outline only,
image brightness and contrast (display only), a dark theme; the zoom percentage in the status
bar. What is shown changes; the project does not (hiding is the session's hidden set)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QColor, QPalette
from PySide6.QtWidgets import QApplication, QMenu

from annotator.gui.session.events import Message, VisibilityChanged

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

OPACITIES = (0.25, 0.5, 0.75, 1.0)
LEVELS = (-40, -20, 0, 20, 40)  # brightness offsets, grey levels
CONTRASTS = (0.6, 0.8, 1.0, 1.25, 1.5)


class ViewOptions:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = window.session
        self.dark = False
        window.canvas.vb.sigRangeChanged.connect(lambda *_a: self.show_zoom())

    # -- what is shown ------------------------------------------------------------------------
    def set_opacity(self, value: float) -> None:
        self.win.canvas.set_mask_opacity(value)
        self.win.view.refresh_committed()
        self.win.view.refresh_current()

    def set_outline_only(self, on: bool) -> None:
        self.win.canvas.outline_only = bool(on)
        self.win.view.refresh_committed()

    def set_image_levels(self, brightness: float | None = None, contrast: float | None = None):
        self.win.canvas.set_levels(brightness, contrast)

    def _hide(self, ids: set[int], what: str) -> None:
        s = self.session
        s.hidden = ids
        s.events.emit(VisibilityChanged(frozenset(ids)))
        s.events.emit(Message(what, 2000))

    def toggle_all(self) -> None:
        """Hide every mask of the image, or show them all again."""
        ids = {a.id for a in self.session.annotations()}
        if ids and not ids <= self.session.hidden:
            self._hide(self.session.hidden | ids, f"{len(ids)} masks hidden (Shift+H shows)")
        else:
            self._hide(self.session.hidden - ids, "All masks shown")

    def solo(self) -> None:
        """Show only the selected masks (again: show all)."""
        s = self.session
        others = {a.id for a in s.annotations()} - set(s.selection)
        if s.selection and not others <= s.hidden:
            self._hide(s.hidden | others, "Only the selected masks are shown")
        else:
            self._hide(s.hidden - others, "All masks shown")

    def set_dark(self, on: bool) -> None:
        self.dark = bool(on)
        app = QApplication.instance()
        if app is None:
            return
        app.setStyle("Fusion")
        palette = QPalette()
        if on:
            for role, color in (
                (QPalette.ColorRole.Window, "#2b2b2b"),
                (QPalette.ColorRole.WindowText, "#e0e0e0"),
                (QPalette.ColorRole.Base, "#1e1e1e"),
                (QPalette.ColorRole.AlternateBase, "#2b2b2b"),
                (QPalette.ColorRole.Text, "#e0e0e0"),
                (QPalette.ColorRole.Button, "#353535"),
                (QPalette.ColorRole.ButtonText, "#e0e0e0"),
                (QPalette.ColorRole.Highlight, "#4363d8"),
                (QPalette.ColorRole.HighlightedText, "#ffffff"),
                (QPalette.ColorRole.ToolTipBase, "#353535"),
                (QPalette.ColorRole.ToolTipText, "#e0e0e0"),
            ):
                palette.setColor(role, QColor(color))
        app.setPalette(palette)

    def show_zoom(self) -> None:
        canvas = self.win.canvas
        if canvas.shape[0]:
            self.win.status.set_zoom(100.0 / max(canvas.pixels_per_screen_pixel(), 1e-9))

    # -- the menu -----------------------------------------------------------------------------
    def add_to_menu(self, menu: QMenu) -> dict[str, QAction]:
        a: dict[str, QAction] = {}
        menu.addSeparator()
        a["all"] = menu.addAction("Hide / show all masks", self.toggle_all)
        a["all"].setShortcut("Shift+H")
        a["solo"] = menu.addAction("Solo the selected masks", self.solo)
        a["solo"].setShortcut("Shift+S")
        a["outline"] = menu.addAction("Outlines only")
        a["outline"].setCheckable(True)
        a["outline"].toggled.connect(self.set_outline_only)
        self._choices(menu.addMenu("Mask opacity"), OPACITIES, 1.0, self.set_opacity, "{:.0%}")
        self._choices(
            menu.addMenu("Image brightness"), LEVELS, 0,
            lambda v: self.set_image_levels(brightness=v), "{:+d}",
        )  # fmt: skip
        self._choices(
            menu.addMenu("Image contrast"), CONTRASTS, 1.0,
            lambda v: self.set_image_levels(contrast=v), "×{:.2f}",
        )  # fmt: skip
        a["dark"] = menu.addAction("Dark theme")
        a["dark"].setCheckable(True)
        a["dark"].toggled.connect(self.set_dark)
        for action in a.values():
            self.win.addAction(action)  # shortcuts work without opening the menu
        return a

    def _choices(self, menu: QMenu, values, current, apply, fmt: str) -> None:
        group = QActionGroup(menu)
        for v in values:
            act = menu.addAction(fmt.format(v), lambda v=v: apply(v))
            act.setCheckable(True)
            act.setChecked(v == current)
            group.addAction(act)
