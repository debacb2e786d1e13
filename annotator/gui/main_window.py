"""The main window: builds the canvas, tools, panels and menus and wires them to the app
session (annotator.gui.session) and the model client. It holds no annotation state: user input
goes to session commands, session events redraw the widgets (session_view.py), model results
go back to the session. See docs/adr/0004-app-session-and-view.md.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QVBoxLayout, QWidget

from annotator.gui.actions import build_actions, build_menus
from annotator.gui.drop import DropOpener
from annotator.gui.everything import SegmentEverything
from annotator.gui.label_flow import LabelFlow
from annotator.gui.mask_editing import MaskEditing
from annotator.gui.model.requests import PromptSet
from annotator.gui.panel_menus import PanelMenus
from annotator.gui.project_files import ProjectFiles
from annotator.gui.sequence_view import SequenceView
from annotator.gui.session import AppSession
from annotator.gui.session.events import DecodeCancelled, DecodeRequested, ImageChanged, Message
from annotator.gui.session_view import SessionView
from annotator.gui.settings import AppSettings
from annotator.gui.toolbar import build_toolbar
from annotator.gui.tools import BoxTool, BrushTool, PointTool, PolygonTool, Tool
from annotator.gui.view_options import ViewOptions
from annotator.gui.widgets import dialogs
from annotator.gui.widgets.candidates import CandidateBar
from annotator.gui.widgets.canvas import Canvas
from annotator.gui.widgets.panels import CategoriesPanel, ImageListPanel, MaskListPanel
from annotator.gui.widgets.status import StatusBar

PLACEMENT_MENUS = (
    ("Device", "device", ("auto", "cpu", "cuda")),
    ("Precision", "dtype", ("auto", "float32", "bfloat16")),
)
BOXES_HINT = "This model works from boxes: drag a box (B)"
PREFETCH_AHEAD = 2
TOOL_NAMES = ("point", "box", "brush", "eraser", "polygon")


class MainWindow(QMainWindow):
    """client: a ModelClient (or a test double with the same signals and methods)."""

    def __init__(self, client, autosave_delay_s: float = 3.0):
        super().__init__()
        self.client = client
        self.session = session = AppSession(autosave_delay_s)
        self.prompt_hint = "points_and_boxes"

        self.canvas = Canvas()
        # Floats over the canvas's top-left corner: showing it never moves the image under the
        # pointer (it used to push the canvas down by its height).
        self.candidates = CandidateBar(self.canvas)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)
        self.mask_list = MaskListPanel()
        self.categories = CategoriesPanel()
        self.image_list = ImageListPanel()
        masks = self._dock("Masks", self.mask_list, Qt.DockWidgetArea.RightDockWidgetArea)
        cats = self._dock("Categories", self.categories, Qt.DockWidgetArea.RightDockWidgetArea)
        images = self._dock("Images", self.image_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.resizeDocks([images, masks], [190, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([masks, cats], [480, 200], Qt.Orientation.Vertical)
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.view = SessionView(self)
        self.files = ProjectFiles(self)
        self.settings = AppSettings(self)
        self.view_options = ViewOptions(self)

        editor = session.editor
        prompts = session.prompts
        self.tools: dict[str, Tool] = {
            "point": PointTool(editor.add_point),
            "box": BoxTool(editor.set_box, (1, 1), lambda: prompts.state.box),
            "brush": BrushTool(lambda: prompts.current_mask, editor.apply_edit, (1, 1)),
            "eraser": BrushTool(
                lambda: prompts.current_mask, editor.apply_edit, (1, 1), erase=True
            ),
            "polygon": PolygonTool(lambda: prompts.current_mask, editor.apply_edit, (1, 1)),
        }
        self.tool_name = self.prompt_tool = "point"
        self.editing = MaskEditing(self)
        self.labels = LabelFlow(self)
        self.panel_menus = PanelMenus(self)
        self.everything = SegmentEverything(self)
        self.actions_by_name = build_actions(self)
        # What the loaded model runs on, and what the next load asks for: the menus check the
        # former, so a failed switch (cuda on a CPU-only machine) leaves them telling the truth.
        self.placement = {"device": "auto", "dtype": "auto"}
        self._requested = dict(self.placement)
        self._last_load: tuple[str | None, str] = (None, "auto")
        self._sent_key: str | None = None  # the image last handed to the model (send_image)
        self.model_menu = self._build_model_menu()
        build_menus(self, self.actions_by_name, self.model_menu)
        self.toolbar = build_toolbar(self)
        self.sequence = SequenceView(self)  # frame slider, propagation (sequence_view.py)
        DropOpener(self)

        self.canvas.toolEvent.connect(self._on_tool_event)
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.selectAt.connect(session.select_at)
        self.canvas.extendSelectAt.connect(session.selecting.toggle_at)
        self.mask_list.selectionChanged.connect(session.selecting.set)
        self.mask_list.visibilityChanged.connect(session.set_visible)
        self.mask_list.deleteRequested.connect(session.delete_selected)
        self.mask_list.relabelRequested.connect(session.selecting.relabel)
        self.categories.currentChanged.connect(session.set_category)
        self.categories.addRequested.connect(session.add_category)
        self.categories.renameRequested.connect(session.rename_category)
        self.categories.recolorRequested.connect(session.recolor_category)
        self.image_list.activated.connect(self.files.show_image)
        self.candidates.chosen.connect(editor.choose)

        session.events.connect(ImageChanged, self._on_image_changed)
        session.events.connect(DecodeRequested, self._on_decode_requested)
        session.events.connect(DecodeCancelled, lambda _e: self.client.cancel_mask())
        session.events.connect(Message, lambda m: self.status.showMessage(m.text, m.timeout_ms))

        client.modelLoading.connect(self._on_model_loading)
        client.modelLoaded.connect(self._on_model_loaded)
        client.encodingStarted.connect(self._on_encoding_started)
        client.imageReady.connect(self._on_image_ready)
        client.maskReady.connect(self._on_mask_ready)
        client.errorOccurred.connect(self._on_worker_error)

        self._autosave_seen: object = None
        self._autosave_timer = QTimer(self, interval=500, timeout=self._autosave_tick)
        self._autosave_timer.start()
        self.set_tool("point")
        from annotator.gui.find_view import FindController  # Ctrl+F: SAM 3 text/exemplars

        self.find = FindController(self)
        self.settings.restore_window()  # last geometry and docks, or ~90% of the screen
        self.view.update_title()

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _build_model_menu(self) -> QMenu:
        """The models helper's menu (known models, checkpoint file) plus a Device submenu."""
        try:
            from annotator.gui.widgets.models_menu import ModelsMenu

            menu: QMenu = ModelsMenu(self, on_load=self.load_model)
        except ImportError:  # engine registry unavailable: a plain checkpoint chooser
            menu = QMenu("&Model", self)
            menu.addAction("Load checkpoint…", self.ask_checkpoint)
            self._add_device_menu(menu)
            return menu
        self._add_device_menu(menu)
        menu.aboutToShow.connect(lambda: self._add_device_menu(menu))  # after its rebuild
        return menu

    def _add_device_menu(self, menu: QMenu) -> None:
        menu.addSeparator()
        for title, key, choices in PLACEMENT_MENUS:
            sub = menu.addMenu(title)
            for value in choices:
                act = sub.addAction(value, lambda k=key, v=value: self.set_placement(k, v))
                act.setCheckable(True)
                act.setChecked(value == self.placement[key])

    def load_model(self, checkpoint: str | None, model_type: str = "auto") -> None:
        """Load a checkpoint (None = bundled) on the chosen device and precision, in the worker."""
        self._last_load = (checkpoint, model_type)
        want = self._requested
        self.client.load_model(checkpoint, model_type, want["device"], want["dtype"])

    def set_placement(self, key: str, value: str, reload: bool = True) -> None:
        """Ask for another "device" or "dtype" (precision); it shows once the model loads."""
        self._requested = {**self._requested, key: value}
        if reload:
            self.load_model(*self._last_load)

    def ask_checkpoint(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self, "Load checkpoint", "", "Checkpoints (*.pth *.pt);;All files (*)"
        )
        if path:
            self.load_model(path, "auto")

    def open_path(self, path, images_root=None) -> bool:
        """Open an image, a folder or a project JSON (see ProjectFiles.open_path)."""
        return self.files.open_path(path, images_root)

    def save(self, path=None) -> bool:
        """Ctrl+S (see ProjectFiles.save)."""
        return self.files.save(path)

    # -- tools ----------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.tool_name = name
        if name in ("point", "box"):
            self.prompt_tool = name
        for key in TOOL_NAMES:
            self.actions_by_name[key].setChecked(key == name)
        self.canvas.set_tool(self.tools[name])
        self._update_hint()

    def accept(self) -> int | None:
        """Enter (see MaskEditing.accept); with segment-everything proposals shown and no
        object in progress, accepts the kept proposals."""
        if self.session.proposals.active and self.session.prompts.is_empty:
            ids = self.everything.accept()
            return ids[-1] if ids else None
        return self.editing.accept()

    def brush_size(self, delta: int) -> None:
        """[ ]: the brush radius; with the polygon tool, its tolerance (coarser / finer)."""
        if self.tool_name == "polygon":
            tool = self.tools["polygon"]
            tool.tolerance = tool.tolerance - 0.25 * delta
            self.canvas.refresh_tool()
            self.status.showMessage(f"Polygon tolerance {tool.tolerance:.2f} px", 2000)
            return
        for key in ("brush", "eraser"):
            tool = self.tools[key]
            tool.radius = int(np.clip(tool.radius + delta, 1, 200))
        self.status.showMessage(f"Brush radius {self.tools['brush'].radius} px", 2000)

    def clear_prompts(self) -> None:
        """Esc: stop segment everything, reject its proposals, or drop the object in progress
        and any gesture (undoable)."""
        if self.everything.running:
            self.everything.cancel()
            return
        if self.session.proposals.active:
            self.session.proposals.reject()
            return
        if not self.session.prompts.is_empty:
            self.canvas.tool.cancel()
        self.session.editor.clear()

    def _update_hint(self) -> None:
        hint = self.tools[self.tool_name].hint
        if self.prompt_hint == "boxes":
            hint = f"{BOXES_HINT}  ·  {hint}"
        self.status.set_hint(hint)

    def _on_tool_event(self) -> None:
        working = self.canvas.tool.working
        if working is not None:  # a brush stroke in progress: show the working copy
            self.canvas.set_current(working, self.session.category_color())

    def _on_hover(self, x: float, y: float) -> None:
        ann = self.session.annotation_at(x, y) if x >= 0 else None
        self.canvas.set_hover(None if ann is None else self.view.outline(ann))

    def show_help(self) -> None:
        from annotator.gui.widgets.help_dialog import HelpDialog

        menus = [(m.title(), m.actions()) for m in self.menuBar().findChildren(QMenu)]
        HelpDialog([*menus, ("Other keys", self.actions_by_name.values())], self).exec()

    # -- session events that reach the model ---------------------------------------------------
    def _on_image_changed(self, event: ImageChanged) -> None:
        size = (event.image.shape[1], event.image.shape[0])
        for tool in self.tools.values():
            tool.image_size = size
        if not self.session.sequence.running:  # frames shown meanwhile: encoded on demand
            self.send_image()

    def send_image(self, only_if_new: bool = False) -> None:
        """Hand the image shown to the model (it encodes it, or finds it cached) and the next
        ones to prefetch; only_if_new: unless it was the last one handed over."""
        key = self.session.image_key
        if key is None or (only_if_new and key == self._sent_key):
            return
        self._sent_key = key
        self.client.open_image(key, self.session.image)
        self.client.prefetch(self.session.prefetch_items(PREFETCH_AHEAD))

    def _on_decode_requested(self, event: DecodeRequested) -> None:
        self.send_image(only_if_new=True)
        prompts = PromptSet(
            event.points, event.labels, event.box, event.mask_input, event.multimask
        )
        self.client.request_mask(prompts)

    # -- model client signals ----------------------------------------------------------------
    def _on_model_loading(self, text: str) -> None:
        self.status.start_busy(text.rstrip("…"))

    def _on_model_loaded(self, info) -> None:
        self.session.model_name = info.name
        self.prompt_hint = info.prompt_hint
        self.placement = dict(self._requested)
        self.settings.model_loaded(*self._last_load, self.placement["dtype"])
        self.status.set_model(info.name, info.device, info.precision)
        self.status.ready()
        if self.prompt_hint == "boxes" and self.session.prompts.is_empty:
            self.set_tool("box")
        self._update_hint()
        if self.session.prompts.has_prompts:  # the image re-encodes; decode the object again
            self.session.editor.decode()

    def _on_encoding_started(self, key: str) -> None:
        if key == self.session.image_key:
            self.status.start_busy("Encoding")

    def _on_image_ready(self, key: str, seconds: float) -> None:
        if key == self.session.image_key:
            self.status.ready(seconds)

    def _on_mask_ready(self, result) -> None:
        """The client delivers only its latest request's answer on the current image."""
        editor = self.session.editor
        if editor.apply_result(result.masks, result.scores, result.low_res_logits):
            self.status.set_decode_time(result.decode_seconds)

    def _on_worker_error(self, message: str) -> None:
        self._requested = dict(self.placement)  # a failed load keeps the model it had
        self.status.ready()
        self.session.editor.model_failed()
        self.status.showMessage(message, 10000)
        dialogs.show_error(self, "Model error", message)

    def _autosave_tick(self) -> None:
        autosaver = self.session.autosaver
        if autosaver is not None:
            self.session.pending.sync()  # objects in progress are part of the autosave
            autosaver.maybe_flush()
            written = autosaver.doc.autosave_state  # also written on image switches
            if written is not None and written is not self._autosave_seen:
                self.status.set_autosaved(time.strftime("%H:%M"))
            self._autosave_seen = written

    def closeEvent(self, event) -> None:
        if not self.files.confirm_discard("closing"):
            event.ignore()
            return
        self._autosave_timer.stop()
        self.settings.save_window()
        self.session.close()
        stop_downloads = getattr(self.model_menu, "shutdown", None)  # the fallback menu has none
        if stop_downloads is not None:
            stop_downloads()  # cancels a model download and stops its thread (bounded wait)
        self.sequence.shutdown()
        self.client.shutdown()
        self.find.shutdown()
        event.accept()
