"""The main window: composes canvas, tools, panels and the model client; owns the flow
open image -> prompts -> decode (in the worker) -> Enter -> annotation -> autosave/save.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QVBoxLayout, QWidget

from annotator.gui import dialogs
from annotator.gui.actions import build_actions, build_menus
from annotator.gui.annotating import AnnotatingMixin
from annotator.gui.candidates import CandidateBar
from annotator.gui.canvas import Canvas
from annotator.gui.files import FilesMixin
from annotator.gui.history import History
from annotator.gui.panels import CategoriesPanel, ImageListPanel, MaskListPanel
from annotator.gui.prompt_state import PromptSession, PromptSnapshot
from annotator.gui.status import StatusBar
from annotator.gui.tools import BoxTool, BrushTool, PointTool
from annotator.io.autosave import Autosaver
from annotator.io.document import Document

BOXES_HINT = "This model works from boxes: drag a box (B)"


class MainWindow(AnnotatingMixin, FilesMixin, QMainWindow):
    """client: a ModelClient (or a test double with the same signals and methods)."""

    def __init__(self, client, autosave_delay_s: float = 3.0):
        super().__init__()
        self.client = client
        self.autosave_delay_s = autosave_delay_s
        self.doc: Document | None = None
        self.autosaver: Autosaver | None = None
        self.images: list[str] = []
        self.current: str | None = None
        self.image_id: int | None = None
        self.image: np.ndarray | None = None
        self.session = PromptSession()
        self.history = History(self.session)
        self.category_id: int | None = None
        self.selected: int | None = None
        self.hidden: set[int] = set()
        self.prompt_hint = "points_and_boxes"
        self.model_name = ""
        self._parked: dict[str, PromptSnapshot] = {}  # in-progress objects of other images
        self._mask_cache: dict[int, tuple[object, np.ndarray, QPainterPath]] = {}

        self.canvas = Canvas()
        self.candidates = CandidateBar()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.candidates)
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

        self.tools = {
            "point": PointTool(self.add_point),
            "box": BoxTool(self.set_box, (1, 1), lambda: self.session.state.box),
            "brush": BrushTool(lambda: self.session.current_mask, self.apply_edit, (1, 1)),
            "eraser": BrushTool(
                lambda: self.session.current_mask, self.apply_edit, (1, 1), erase=True
            ),
        }
        self.tool_name = "point"
        self.actions_by_name = build_actions(self)
        self.device = "auto"
        self._last_load: tuple[str | None, str] = (None, "auto")
        self.model_menu = self._build_model_menu()
        build_menus(self, self.actions_by_name, self.model_menu)

        self.canvas.toolEvent.connect(self._on_tool_event)
        self.canvas.hovered.connect(self._on_hover)
        self.canvas.selectAt.connect(self._select_at)
        self.mask_list.selected.connect(self.select_annotation)
        self.mask_list.visibilityChanged.connect(self.set_visible)
        self.mask_list.deleteRequested.connect(self.delete_annotation)
        self.mask_list.categoryRequested.connect(self.change_category)
        self.categories.currentChanged.connect(self.choose_category)
        self.categories.addRequested.connect(self.add_category)
        self.categories.renameRequested.connect(self.rename_category)
        self.categories.recolorRequested.connect(self.recolor_category)
        self.image_list.activated.connect(self.show_image)
        self.candidates.chosen.connect(self.choose_candidate)

        client.modelLoading.connect(self._on_model_loading)
        client.modelLoaded.connect(self._on_model_loaded)
        client.encodingStarted.connect(self._on_encoding_started)
        client.imageReady.connect(self._on_image_ready)
        client.maskReady.connect(self._on_mask_ready)
        client.errorOccurred.connect(self._on_worker_error)

        self._autosave_timer = QTimer(self, interval=500, timeout=self._autosave_tick)
        self._autosave_timer.start()
        self.set_tool("point")
        self.resize(1280, 820)
        self._update_title()

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
        devices = menu.addMenu("Device")
        for dev in ("auto", "cpu", "cuda"):
            act = devices.addAction(dev, lambda dev=dev: self.set_device(dev))
            act.setCheckable(True)
            act.setChecked(dev == self.device)

    def load_model(self, checkpoint: str | None, model_type: str = "auto") -> None:
        """Load a checkpoint (None = bundled) on the chosen device, in the worker."""
        self._last_load = (checkpoint, model_type)
        self.client.load_model(checkpoint, model_type, self.device)

    def set_device(self, device: str) -> None:
        self.device = device
        self.load_model(*self._last_load)

    # -- tools ----------------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        self.tool_name = name
        for key in ("point", "box", "brush", "eraser"):
            self.actions_by_name[key].setChecked(key == name)
        self.canvas.set_tool(self.tools[name])
        self._update_hint()

    def brush_size(self, delta: int) -> None:
        for key in ("brush", "eraser"):
            tool = self.tools[key]
            tool.radius = int(np.clip(tool.radius + delta, 1, 200))  # type: ignore[attr-defined]
        self.status.showMessage(f"Brush radius {self.tools['brush'].radius} px", 2000)

    def _update_hint(self) -> None:
        hint = self.tools[self.tool_name].hint
        if self.prompt_hint == "boxes":
            hint = f"{BOXES_HINT}  ·  {hint}"
        self.status.set_hint(hint)

    def _on_tool_event(self) -> None:
        working = getattr(self.canvas.tool, "working", None)
        if working is not None:  # a brush stroke in progress: show the working copy
            self.canvas.set_current(working, self.category_color())

    def show_help(self) -> None:
        from annotator.gui.help_dialog import HelpDialog

        HelpDialog(self.actions_by_name.values(), self).exec()

    def ask_checkpoint(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self, "Load checkpoint", "", "Checkpoints (*.pth *.pt);;All files (*)"
        )
        if path:
            self.load_model(path, "auto")

    # -- model client signals ----------------------------------------------------------------
    def _on_model_loading(self, text: str) -> None:
        self.status.start_busy(text.rstrip("…"))

    def _on_model_loaded(self, info) -> None:
        self.model_name = info.name
        self.prompt_hint = info.prompt_hint
        self.status.set_model(info.name, info.device)
        self.status.ready()
        if self.prompt_hint == "boxes" and self.session.is_empty:
            self.set_tool("box")
        self._update_hint()
        if self.session.has_prompts:  # the image re-encodes; decode the object again
            self._decode()

    def _on_encoding_started(self, key: str) -> None:
        if key == self._image_key():
            self.status.start_busy("Encoding")

    def _on_image_ready(self, key: str, seconds: float) -> None:
        if key == self._image_key():
            self.status.ready(seconds)

    def _on_worker_error(self, message: str) -> None:
        self.status.ready()
        self.status.showMessage(message, 10000)
        dialogs.show_error(self, "Model error", message)

    def _update_title(self) -> None:
        name = self.current or "no image"
        star = "*" if self.doc is not None and self.doc.dirty else ""
        self.setWindowTitle(f"annotator — {name}{star}")

    def closeEvent(self, event) -> None:
        if not self.confirm_discard("closing"):
            event.ignore()
            return
        self._autosave_timer.stop()
        if self.autosaver is not None:
            self.autosaver.close()
        stop_downloads = getattr(self.model_menu, "shutdown", None)  # the fallback menu has none
        if stop_downloads is not None:
            stop_downloads()  # cancels a model download and stops its thread (bounded wait)
        self.client.shutdown()
        event.accept()
