"""ONNX export of SAM-family networks and the ONNX Runtime path of the predictor.

``onnx`` (export) and ``onnxruntime`` (running, quantising) are optional: install the
``onnx`` extra. Nothing here is imported by the rest of the engine unless asked for.
"""
