import os

# Qt must never need a display in tests; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The predictor's default ("auto") decoder exports an ONNX Runtime session in a background
# thread at the first predict; tests pin torch so that the path under test is deterministic.
# tests/engine/onnx asks for decoder="onnx" explicitly.
os.environ.setdefault("ANNOTATOR_DECODER", "torch")
