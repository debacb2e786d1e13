import os

# Qt must never need a display in tests; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The predictor's default ("auto") decoder exports an ONNX Runtime session in a background
# thread at the first predict; tests pin torch so that the path under test is deterministic.
# tests/engine/onnx asks for decoder="onnx" explicitly.
os.environ.setdefault("ANNOTATOR_DECODER", "torch")

import pytest


@pytest.fixture(autouse=True)
def _own_settings_file(monkeypatch, tmp_path_factory):
    """Every test has its own app settings file, never the user's: a test that opens the
    window (from gui/ or through the CLI) would otherwise add its temporary project to the
    real recent-files list, and plain `annotator` would reopen it."""
    settings = tmp_path_factory.mktemp("settings") / "annotator.ini"
    monkeypatch.setenv("ANNOTATOR_SETTINGS", str(settings))
