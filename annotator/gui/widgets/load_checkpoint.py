"""Model ▸ Load checkpoint file…: pick a checkpoint file (or type a model name) and its
architecture; the entry is resolved (and refused with its reason) before the dialog closes."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from annotator.engine.weights.registry import RegistryError
from annotator.engine.weights.resolve import resolve_checkpoint
from annotator.engine.weights.store import ModelStoreError

MODEL_TYPE_CHOICES = (
    ("auto", "Detect from the file"),
    ("vit_h", "SAM ViT-H"),
    ("vit_l", "SAM ViT-L"),
    ("vit_b", "SAM ViT-B"),
    ("vit_t", "MobileSAM (ViT-T)"),
    ("lite_medsam", "LiteMedSAM"),
)


class LoadCheckpointDialog(QDialog):
    """Pick a checkpoint file (or type a model name) and its architecture."""

    def __init__(self, parent: QWidget | None, directory: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Load checkpoint")
        self._directory = directory
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("checkpoint file, or a model name such as sam_vit_b")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit)
        row.addWidget(browse)
        self.type_combo = QComboBox()
        for key, label in MODEL_TYPE_CHOICES:
            self.type_combo.addItem(label, key)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        form = QFormLayout()
        form.addRow("Checkpoint:", row)
        form.addRow("Model type:", self.type_combo)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.checkpoint: str | None = None
        self.model_type = "auto"

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Checkpoint file",
            "",
            "Checkpoints (*.pth *.pt *.pth.tar *.safetensors);;All files (*)",
        )
        if path:
            self.path_edit.setText(path)

    def accept(self) -> None:
        text = self.path_edit.text().strip()
        if not text:
            self.error_label.setText("Choose a checkpoint file.")
            return
        try:
            resolved = resolve_checkpoint(text, directory=self._directory)
        except (ModelStoreError, RegistryError) as exc:
            self.error_label.setText(str(exc))  # stay open: the user fixes the entry
            return
        self.checkpoint = None if resolved is None else str(resolved)
        self.model_type = str(self.type_combo.currentData())
        super().accept()
