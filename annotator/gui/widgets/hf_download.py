"""Model ▸ Download from Hugging Face…: ask for ``owner/name`` (or ``hf:owner/name@rev``) and
download the transformers checkpoint in the Model menu's background download thread, through
the engine's ``download_hf_model`` (pinned commit, hub-published hashes, ``HF_ENDPOINT``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from annotator.engine.weights.download import DownloadError
from annotator.engine.weights.hf_store import download_hf_model
from annotator.engine.weights.hub import HF_SCHEME, HubError, HubRef
from annotator.engine.weights.store import ModelStoreError
from annotator.gui.widgets.model_download import DownloadWorker


@dataclass(frozen=True)
class HfTarget:
    """What the menu shows and loads for a hub download (a registry ModelInfo's fields)."""

    name: str  # hf:owner/name[@revision]
    architecture: str
    size: int = 0  # unknown until the hub answers
    model_type: str = "auto"  # the engine detects it from config.json


def parse_repo(text: str) -> HfTarget:
    """``owner/name``, ``hf:owner/name`` or ``...@revision`` -> a target; HubError otherwise."""
    text = text.strip()
    ref = HubRef.parse(text if text.startswith(HF_SCHEME) else HF_SCHEME + text)
    assert ref is not None
    return HfTarget(str(ref), str(ref))


class HfDownloadWorker(DownloadWorker):
    """Same signals as DownloadWorker; the hub download has no byte progress to report, and a
    cancel takes effect when the file in flight is done (huggingface_hub has no cancel hook)."""

    def __init__(self, target: HfTarget, directory: Path | None, timeout: float) -> None:
        super().__init__(target, directory, None, timeout)  # type: ignore[arg-type]

    @Slot()
    def run(self) -> None:
        try:
            ref = HubRef.parse(self.info.name)
            assert ref is not None
            model = download_hf_model(ref, self.directory, self.timeout)
        except (HubError, DownloadError, ModelStoreError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            if self._stop.is_set():
                self.cancelled.emit(f"{self.info.name}: cancelled (the files stay in the cache)")
            else:
                self.succeeded.emit(str(model.folder))
        finally:
            self.done.emit()


def ask_repo(parent: QWidget | None, on_repo) -> QInputDialog:
    """A window-modal, non-blocking prompt for the repository id; ``on_repo(text)`` on OK."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Download from Hugging Face")
    dialog.setLabelText(
        "Hugging Face model (owner/name, optionally @revision), e.g. facebook/sam-vit-base.\n"
        "A mirror is used when HF_ENDPOINT is set."
    )
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.textValueSelected.connect(on_repo)
    dialog.open()
    return dialog
