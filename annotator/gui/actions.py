"""The window's actions (with their shortcuts) and menus; the window supplies the slots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from annotator.gui.widgets.export_dialog import EXPORT_FORMATS

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow


def _act(win: MainWindow, text: str, keys: str | list[str], slot, tip: str = "") -> QAction:
    a = QAction(text, win)
    if keys:
        a.setShortcuts([QKeySequence(k) for k in ([keys] if isinstance(keys, str) else keys)])
    a.triggered.connect(lambda _checked=False: slot())
    if tip:
        a.setStatusTip(tip)
    win.addAction(a)  # active whenever the window has focus, menus or not
    return a


def build_actions(win: MainWindow) -> dict[str, QAction]:
    a: dict[str, QAction] = {}
    a["open"] = _act(win, "&Open image or project…", "Ctrl+O", win.files.ask_open_file)
    a["open_folder"] = _act(win, "Open &folder…", "Ctrl+Shift+O", win.files.ask_open_folder)
    a["save"] = _act(win, "&Save", "Ctrl+S", win.save)
    a["save_as"] = _act(win, "Save &as…", "Ctrl+Shift+S", win.files.save_as)
    a["quit"] = _act(win, "&Quit", "Ctrl+Q", win.close)
    a["commit"] = _act(win, "Accept mask", ["Return", "Enter"], win.accept)
    a["clear"] = _act(win, "Clear prompts", "Esc", win.clear_prompts)
    a["delete"] = _act(win, "Delete selected masks", "Delete", win.session.delete_selected)
    a["hide"] = _act(win, "Hide/show selected masks", "H", win.session.selecting.hide)
    a["undo"] = _act(win, "&Undo", "Ctrl+Z", win.session.undo)
    a["redo"] = _act(win, "&Redo", ["Ctrl+Shift+Z", "Ctrl+Y"], win.session.redo)
    a["cycle"] = _act(win, "Next candidate", "Tab", lambda: win.session.editor.cycle(1))
    a["point"] = _act(win, "&Point tool", "C", lambda: win.set_tool("point"))
    a["box"] = _act(win, "&Box tool", "B", lambda: win.set_tool("box"))
    a["brush"] = _act(win, "B&rush", "R", lambda: win.editing.brush("brush"))
    a["eraser"] = _act(win, "&Eraser", "E", lambda: win.editing.brush("eraser"))
    a["polygon"] = _act(win, "P&olygon (edit vertices)", "P", lambda: win.editing.brush("polygon"))
    a["smaller"] = _act(win, "Smaller brush", "[", lambda: win.brush_size(-2))
    a["bigger"] = _act(win, "Bigger brush", "]", lambda: win.brush_size(+2))
    a["next"] = _act(win, "&Next image", "D", lambda: win.files.step_image(+1))
    a["prev"] = _act(win, "&Previous image", "A", lambda: win.files.step_image(-1))
    a["done"] = _act(win, "Mark image &done", "Ctrl+D", win.session.toggle_done)
    a["unfinished"] = _act(win, "Next &unfinished image", "N", win.files.next_unfinished)
    a["fit"] = _act(win, "&Fit image", "F", win.canvas.fit)
    a["zoom_in"] = _act(win, "Zoom &in", ["Ctrl++", "Ctrl+="], lambda: win.canvas.zoom(1.25))
    a["zoom_out"] = _act(win, "Zoom &out", "Ctrl+-", lambda: win.canvas.zoom(0.8))
    a["copy_next"] = _act(
        win, "Copy selected masks to the next image", "Ctrl+Shift+V",
        win.session.selecting.copy_to_next,
    )  # fmt: skip
    a["one"] = _act(win, "&1:1 pixels", "Ctrl+1", win.canvas.one_to_one)
    for i in range(9):
        a[f"cat{i + 1}"] = _act(
            win,
            f"Category {i + 1} (relabels the selected masks)",
            str(i + 1),
            lambda i=i: win.editing.number_key(i),
        )
    a["help"] = _act(win, "&Keyboard and mouse…", "F1", win.show_help)
    for key in ("point", "box", "brush", "eraser", "polygon"):
        a[key].setCheckable(True)
    a["accept_on_switch"] = _act(win, "Accept the object on next image", "", lambda: None)
    a["accept_on_switch"].setCheckable(True)
    a["accept_on_switch"].toggled.connect(
        lambda on: setattr(win.session, "accept_on_switch", bool(on))
    )
    a["label_popup"] = _act(win, "Ask for the label on accept", "", lambda: None)
    a["label_popup"].setCheckable(True)
    a["label_popup"].toggled.connect(lambda on: win.labels.set_enabled(on))
    return a


def build_menus(win: MainWindow, a: dict[str, QAction], model_menu: QMenu) -> None:
    bar = win.menuBar()
    file = bar.addMenu("&File")
    for key in ("open", "open_folder"):
        file.addAction(a[key])
    recent = file.addMenu("Open &Recent")
    recent.aboutToShow.connect(lambda: win.settings.fill_recent_menu(recent))
    file.addSeparator()
    file.addAction(a["save"])
    file.addAction(a["save_as"])
    file.addSeparator()
    imp = file.addMenu("&Import")
    imp.addAction("Add COCO instances JSON…", lambda: win.files.import_annotations("coco"))
    imp.addAction("Add LabelMe JSON folder…", lambda: win.files.import_annotations("labelme"))
    imp.addSeparator()
    imp.addAction("Replace project with COCO JSON…", lambda: win.files.replace_with_import("coco"))
    imp.addAction(
        "Replace project with LabelMe folder…", lambda: win.files.replace_with_import("labelme")
    )
    exp = file.addMenu("&Export")
    for fmt, text in EXPORT_FORMATS:
        exp.addAction(f"{text}…", lambda fmt=fmt: win.files.export_annotations(fmt))
    file.addSeparator()
    file.addAction(a["quit"])
    edit = bar.addMenu("&Edit")
    edit_keys = ("undo", "redo", None, "commit", "clear", "delete", "hide", "copy_next", "cycle")
    for key in (*edit_keys, None, "done", "accept_on_switch", "label_popup"):
        edit.addSeparator() if key is None else edit.addAction(a[key])
    tools = bar.addMenu("&Tools")
    for key in ("point", "box", "brush", "eraser", "polygon", None, "smaller", "bigger"):
        tools.addSeparator() if key is None else tools.addAction(a[key])
    view = bar.addMenu("&View")
    for key in ("fit", "one", "zoom_in", "zoom_out", None, "next", "prev", "unfinished"):
        view.addSeparator() if key is None else view.addAction(a[key])
    win.view_options.add_to_menu(view)
    bar.addMenu(model_menu)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(a["help"])
