"""`annotator export-onnx`: files with the official decoder interface; clear errors."""

from __future__ import annotations

import builtins

import onnx
import onnxruntime as ort
import pytest

from annotator.cli import main
from annotator.engine.onnx.export import DECODER_INPUTS, DECODER_OUTPUTS


@pytest.mark.slow
def test_exports_bundled_decoder_encoder_and_quantised(tmp_path, capsys):
    dec, enc = tmp_path / "decoder.onnx", tmp_path / "encoder.onnx"
    assert main(["export-onnx", "--output", str(dec), "--encoder", str(enc)]) == 0
    graph = onnx.load(str(dec)).graph
    assert [i.name for i in graph.input] == list(DECODER_INPUTS)
    assert [o.name for o in graph.output] == list(DECODER_OUTPUTS)
    session = ort.InferenceSession(str(enc), providers=["CPUExecutionProvider"])
    assert [i.shape for i in session.get_inputs()] == [[1, 3, 256, 256]]
    q = tmp_path / "decoder.int8.onnx"
    assert main(["export-onnx", "--output", str(q), "--return-single-mask", "--quantize"]) == 0
    out = capsys.readouterr().out
    assert "lite_medsam decoder" in out and "int8 decoder vs float32" in out
    assert q.stat().st_size < dec.stat().st_size


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    code = main(["export-onnx", str(tmp_path / "nope.pth"), "--output", str(tmp_path / "d.onnx")])
    assert code == 1
    assert "nope.pth" in capsys.readouterr().err
    assert not (tmp_path / "d.onnx").exists()


def test_missing_onnx_says_what_to_install(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("No module named 'onnx'", name="onnx")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert main(["export-onnx", "--output", str(tmp_path / "d.onnx")]) == 1
    assert "annotator[onnx]" in capsys.readouterr().err
