"""File ▸ Export: the options of a training dataset (format, split, copy images, polygon
tolerance, a new folder), in one dialog, checked before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from annotator.io.formats.polygons import DEFAULT_TOLERANCE
from annotator.io.formats.split import SplitSpecError, parse_split

EXPORT_FORMATS = (
    ("coco", "COCO (RLE)"),
    ("coco-polygons", "COCO (polygons)"),
    ("yolo", "YOLO segmentation"),
    ("png", "PNG masks"),
    ("sa1b", "SA-1B"),
    ("davis", "DAVIS / YouTube-VOS palette PNGs (sequences)"),
    ("mot", "MOT boxes with track ids (sequences)"),
)
POLYGON_FORMATS = ("coco-polygons", "yolo")  # the tolerance applies to these


@dataclass(frozen=True)
class ExportOptions:
    fmt: str
    folder: Path  # the new dataset folder (parent / name)
    split: list[tuple[str, float]] | None  # from split.parse_split; None: no split
    copy_images: bool
    tolerance: float  # px, polygon simplification (Douglas-Peucker epsilon)


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None, fmt: str, parent_folder: Path, name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.format = QComboBox()
        for key, text in EXPORT_FORMATS:
            self.format.addItem(text, key)
        self.format.setCurrentIndex([k for k, _ in EXPORT_FORMATS].index(fmt))
        self.parent_folder = QLineEdit(str(parent_folder))
        browse = QPushButton("Browse…")
        where = QHBoxLayout()
        where.addWidget(self.parent_folder, 1)
        where.addWidget(browse)
        self.name = QLineEdit(name)
        self._fmt = fmt
        self._stem = name.removesuffix(f"-{fmt}")
        self.split = QLineEdit()
        self.split.setPlaceholderText("e.g. train=0.8,val=0.2 (empty: no split)")
        self.copy_images = QCheckBox("Copy the images into the dataset (needed to train)")
        self.copy_images.setChecked(True)
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0.0, 20.0)
        self.tolerance.setSingleStep(0.5)
        self.tolerance.setSuffix(" px")
        self.tolerance.setValue(DEFAULT_TOLERANCE)
        self.tolerance.setToolTip("How far a simplified polygon may stray from the mask edge")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d9534f")
        form = QFormLayout(self)
        form.addRow("Format:", self.format)
        form.addRow("Into folder:", where)
        form.addRow("New folder name:", self.name)
        form.addRow("Split:", self.split)
        form.addRow("", self.copy_images)
        form.addRow("Polygon tolerance:", self.tolerance)
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        form.addRow(buttons)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        browse.clicked.connect(self._browse)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._format_changed()

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        self.tolerance.setEnabled(fmt in POLYGON_FORMATS)
        if self.name.text() == f"{self._stem}-{self._fmt}":  # not typed by the user: follows
            self.name.setText(f"{self._stem}-{fmt}")
        self._fmt = fmt

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.parent_folder.text())
        if folder:
            self.parent_folder.setText(folder)

    def problem(self) -> str | None:
        """Why the options cannot be used, or None."""
        name = self.name.text().strip()
        if not name or name in {".", ".."} or "/" in name or "\\" in name:
            return "Give the dataset a new folder name (no slashes)."
        if not Path(self.parent_folder.text()).expanduser().is_dir():
            return f"{self.parent_folder.text()} is not a folder."
        if self.split.text().strip():
            try:
                parse_split(self.split.text())
            except SplitSpecError as exc:
                return str(exc)
        return None

    def options(self) -> ExportOptions:
        spec = self.split.text().strip()
        return ExportOptions(
            fmt=self.format.currentData(),
            folder=Path(self.parent_folder.text()).expanduser() / self.name.text().strip(),
            split=parse_split(spec) if spec else None,
            copy_images=self.copy_images.isChecked(),
            tolerance=float(self.tolerance.value()),
        )

    def accept(self) -> None:
        problem = self.problem()
        if problem is not None:
            self.error.setText(problem)
            return
        super().accept()


def ask_export_options(
    parent: QWidget | None, fmt: str, parent_folder: Path, name: str
) -> ExportOptions | None:
    """The user's export options, or None when cancelled."""
    dialog = ExportDialog(parent, fmt, parent_folder, name)
    return dialog.options() if dialog.exec() == QDialog.DialogCode.Accepted else None
