"""The window's sequence part: File ▸ Open video…, the frame slider, the Sequence menu and
toolbar (propagate forward / backward / both, cancel), and the wiring between the session's
`Propagation` (session/propagation.py) and the propagation client in the model thread.

Thin: the rules live in the session; this asks for files, turns actions into session calls,
sends jobs to the worker and hands its frames back. The UI thread never waits: a job's frames
arrive as queued signals and each is written as it comes. The canvas follows them
(session/sequence_follow.py) once per burst of arrivals: a zero-delay timer runs after the
frames already queued, so a UI that fell behind shows only the newest. The frames it shows are
handed to the model only when the propagation ends (or on a click), not one encode a frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog, QToolBar

from annotator.gui.session.events import ImageChanged, Message, ProjectChanged
from annotator.gui.session.propagation import PropagationChanged
from annotator.gui.session.sequence_open import VIDEO_FILTER, open_sequence
from annotator.gui.widgets import dialogs
from annotator.gui.widgets.frame_slider import FrameSlider
from annotator.io.sequence import FRAME_KEY

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

PROPAGATE = (
    ("forward", "Propagate &forward", "T", "Propagate ▶"),
    ("backward", "Propagate &backward", "Shift+T", "◀ Propagate"),
    ("both", "Propagate both &ways", "Ctrl+T", "◀ Both ▶"),
)


class SequenceView:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = s = window.session
        make = getattr(window.client, "sequence_client", None)
        self.client = make() if make is not None else None
        if self.client is not None:
            self.client.frameReady.connect(s.sequence.apply_frame)
            self.client.finished.connect(lambda job, cancelled: s.sequence.finish(job, cancelled))
            self.client.failed.connect(self._failed)
        self._follow_timer = QTimer(window, singleShot=True, interval=0, timeout=self._follow)
        self.slider = FrameSlider()
        self.slider.frameChosen.connect(self._go_to)
        self.actions = self._build_actions()
        self._build_menu_and_toolbar()
        s.events.connect(ImageChanged, lambda _e: self._show_frame())
        s.events.connect(ProjectChanged, lambda _e: self.cancel())
        s.events.connect(PropagationChanged, self._on_progress)
        self._show_frame()

    # -- building ---------------------------------------------------------------------------
    def _action(self, text: str, keys: str, slot) -> QAction:
        a = QAction(text, self.win)
        if keys:
            a.setShortcut(QKeySequence(keys))
        a.triggered.connect(lambda _checked=False: slot())
        self.win.addAction(a)
        return a

    def _build_actions(self) -> dict[str, QAction]:
        a = {"open_video": self._action("Open &video…", "", self.ask_open_video)}
        for way, text, keys, _short in PROPAGATE:
            a[way] = self._action(text, keys, lambda way=way: self.propagate(way))
            a[way].setStatusTip(f"{text.replace('&', '')} from the frame shown ({keys})")
        a["cancel"] = self._action("&Cancel propagation", "Shift+Esc", self.cancel)
        a["cancel"].setIconText("Cancel")
        a["cancel"].setEnabled(False)
        a["follow"] = self._action("F&ollow the propagation on the canvas", "", self._set_follow)
        a["follow"].setIconText("Follow")
        a["follow"].setCheckable(True)
        a["follow"].setChecked(self.session.sequence.follow.enabled)
        a["follow"].setStatusTip("On: the canvas shows each frame as the propagation finishes it")
        a["replace_edited"] = self._action("Propagation replaces hand-edited masks", "", lambda: 0)
        a["replace_edited"].setCheckable(True)
        a["replace_edited"].setStatusTip(
            "Off (default): masks accepted or edited by hand are kept and steer the propagation"
        )
        return a

    def _build_menu_and_toolbar(self) -> None:
        a, win = self.actions, self.win
        file_menu = win.menuBar().actions()[0].menu()
        items = file_menu.actions()
        after = items.index(win.actions_by_name["open_folder"]) + 1
        file_menu.insertAction(items[after] if after < len(items) else None, a["open_video"])
        menu = win.menuBar().addMenu("&Sequence")
        win.menuBar().insertMenu(win.model_menu.menuAction(), menu)
        for key in ("forward", "backward", "both", None, "cancel", "follow", "replace_edited"):
            menu.addSeparator() if key is None else menu.addAction(a[key])
        bar = QToolBar("Sequence", win)
        bar.setObjectName("Sequence")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addWidget(self.slider)
        for way, _text, _keys, short in PROPAGATE:
            a[way].setIconText(short)  # what the toolbar button shows
            bar.addAction(a[way])
        bar.addAction(a["cancel"])
        bar.addAction(a["follow"])
        win.addToolBarBreak()
        win.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    # -- opening ----------------------------------------------------------------------------
    def ask_open_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.win, "Open video", self.win.settings.last_folder(), VIDEO_FILTER
        )
        if path:
            self.open_video(path)

    def open_video(self, path: str | Path) -> bool:
        """Extract the video's frames next to it (with a progress dialog; an interrupted
        extraction continues) and open its project; False with a message when it fails."""
        dialog = QProgressDialog("Extracting frames…", "", 0, 0, self.win)
        dialog.setCancelButton(None)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(500)

        def progress(done: int, total: int) -> None:
            dialog.setMaximum(total)
            dialog.setValue(done)
            QApplication.processEvents()

        try:
            project = open_sequence(Path(path), progress)
        except (OSError, ValueError) as exc:
            dialogs.show_error(self.win, "Cannot open video", str(exc))
            return False
        finally:
            dialog.close()
        return self.win.open_path(project)

    # -- frames -----------------------------------------------------------------------------
    def _show_frame(self) -> None:
        seq = self.session.sequence
        frames = seq.frames()
        position = seq.position()
        index = None if position is None else frames[position].extra[FRAME_KEY]
        self.slider.set_frame(position, len(frames), index)
        self.toolbar.setVisible(bool(frames))

    def _go_to(self, position: int) -> None:
        name = self.session.sequence.go_to(position)
        if name is not None and name != self.session.current:
            self.win.files.show_image(name)

    # -- propagation ------------------------------------------------------------------------
    def propagate(self, way: str = "forward") -> bool:
        s = self.session
        if self.client is None:
            s.events.emit(Message("This model client cannot propagate", 6000))
            return False
        try:
            job, categories = s.sequence.plan(way, self.actions["replace_edited"].isChecked())
        except ValueError as exc:
            s.events.emit(Message(str(exc), 6000))
            return False
        s.sequence.begin(job, categories)
        self.client.propagate(job)
        return True

    def cancel(self) -> None:
        if self.client is not None:
            self.client.cancel()

    def shutdown(self) -> None:
        if self.client is not None:
            self.client.shutdown()

    def _set_follow(self) -> None:
        self.session.sequence.follow.set_enabled(self.actions["follow"].isChecked())

    def _follow(self) -> None:
        tool = self.win.canvas.tool
        if tool.working is None and tool.preview is None:  # no stroke or box drag under way
            self.session.sequence.follow.show_latest()

    def _failed(self, job_id: int, message: str) -> None:
        self.session.sequence.finish(job_id, error=message)
        dialogs.show_error(self.win, "Propagation failed", message)

    def _on_progress(self, event: PropagationChanged) -> None:
        left = event.seconds_left
        self.slider.set_progress(
            event.running, event.done, event.total, event.frames_per_second, left
        )
        self.actions["cancel"].setEnabled(event.running)
        for key in ("forward", "backward", "both"):
            self.actions[key].setEnabled(not event.running)
        for key in ("undo", "redo"):  # a running propagation's step is not recorded yet
            self.win.actions_by_name[key].setEnabled(not event.running)
        if event.running and not event.done:
            self.win.status.start_busy("Propagating")
        elif not event.running:
            self.win.status.ready()
            self.win.send_image(only_if_new=True)  # the frame shown, ready for clicks
        if event.running and event.frame_index is not None:
            self._follow_timer.start()
