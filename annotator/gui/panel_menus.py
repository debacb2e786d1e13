"""Wires the panels' right-click menus and double-clicks to the session (issue 15): a mask's
menu edits, relabels, hides or deletes the selected masks; a category's menu renames,
recolours, moves, merges, or deletes it with its masks after asking."""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.gui.widgets import dialogs

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow


class PanelMenus:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        s = self.session = window.session
        masks, cats = window.mask_list, window.categories
        masks.hideRequested.connect(s.selecting.hide)
        masks.editRequested.connect(s.editor.reopen)
        cats.deleteRequested.connect(self.delete_category)
        cats.mergeRequested.connect(s.categories.merge)
        cats.moveRequested.connect(s.categories.move)

    def delete_category(self, category_id: int) -> None:
        s = self.session
        name = s.doc.category(category_id).name
        if dialogs.confirm_delete_category(self.win, name, s.categories.users(category_id)):
            s.categories.delete(category_id)
