"""QApplication setup and the window's wiring to the real model client."""

from __future__ import annotations

import sys
from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def default_path() -> Path:
    """What plain `annotator` opens: the last project (or folder) opened, while it exists;
    else the repository's sample_data/ folder."""
    from annotator.gui.settings import last_project

    return last_project() or SAMPLE_DATA


def run_app(
    path: str | Path | None = None,
    checkpoint: str | None = None,
    model_type: str = "auto",
    device: str = "auto",
    dtype: str = "auto",
    images_root: str | Path | None = None,
) -> int:
    """Start the desktop app (bundled model unless `checkpoint`); returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from annotator.gui.main_window import MainWindow
    from annotator.gui.model.client import ModelClient

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("annotator")
    client = ModelClient()
    window = MainWindow(client)
    window.set_placement("device", device, reload=False)
    window.set_placement("dtype", dtype, reload=False)
    client.start()  # loads the bundled model in the worker
    last = window.settings.last_model()
    if checkpoint is None and dtype == "auto" and last is not None and last[:2] != (None, "auto"):
        checkpoint, model_type, dtype = last  # the model and precision used last time
        window.set_placement("dtype", dtype, reload=False)
    if checkpoint is not None or device != "auto" or dtype != "auto":
        window.load_model(checkpoint, model_type)
    window.open_path(path if path is not None else default_path(), images_root)
    window.show()
    return int(app.exec())
