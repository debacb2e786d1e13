"""The ONNX decoder graphs cached on disk, keyed by the weights, and exported by a child
process so that the app's threads keep the GIL."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from annotator.engine import Predictor, load_model
from annotator.engine.onnx import decoder_cache, export, runtime
from tests.engine.oracles import iou, sample_image


def _fresh(model) -> runtime.OnnxDecoder:
    """A decoder with no sessions yet (the module keeps one per model)."""
    runtime._DECODERS.pop(model, None)
    return runtime.onnx_decoder(model)


def _box_masks(predictor: Predictor, image: np.ndarray, mask_input=None):
    h, w = image.shape[:2]
    box = np.array([0.2 * w, 0.2 * h, 0.7 * w, 0.8 * h])
    return predictor.predict(box=box, mask_input=mask_input)


def test_graph_key_follows_the_exact_decoder_weights(lite_pair):
    _, model = lite_pair
    other = load_model(None, device="cpu", dtype="float32")
    assert decoder_cache.graph_key(model, False) == decoder_cache.graph_key(other, False)
    assert decoder_cache.graph_key(model, False) != decoder_cache.graph_key(model, True)
    token = other.mask_decoder.iou_token.weight
    kept = token[0, 0].item()
    with torch.no_grad():
        token[0, 0] += 1e-3
    assert decoder_cache.graph_key(model, False) != decoder_cache.graph_key(other, False)
    with torch.no_grad():  # the image encoder is not in the graph, so not in the key
        token[0, 0] = kept
        next(other.image_encoder.parameters()).flatten()[0] += 1.0
    assert decoder_cache.graph_key(model, False) == decoder_cache.graph_key(other, False)


def test_prepare_caches_the_graphs_and_a_second_start_reads_them(lite_pair, tmp_path, monkeypatch):
    _, model = lite_pair
    image = sample_image("coffee")
    assert _fresh(model).prepare(tmp_path)  # exported on this thread, written to the cache
    keys = {decoder_cache.graph_key(model, m) for m in (False, True)}
    assert {p.stem for p in tmp_path.glob("*.onnx")} == keys

    def no_export(*args, **kwargs):
        raise AssertionError("exported although the graph was cached")

    monkeypatch.setattr(export, "prompt_decoder_bytes", no_export)
    _fresh(model)
    onnx_p = Predictor(model, decoder="auto")
    assert onnx_p.prepare_decoder(tmp_path)
    torch_p = Predictor(model, decoder="torch")
    for p in (onnx_p, torch_p):
        p.set_image(image)
    a, b = _box_masks(onnx_p, image), _box_masks(torch_p, image)
    previous = b[2][int(np.argmax(b[1]))][None]
    a2, b2 = (_box_masks(p, image, previous) for p in (onnx_p, torch_p))
    for x, y in ((a, b), (a2, b2)):  # both graphs: without and with a mask prompt
        assert iou(x[0], y[0]).min() >= 0.995
        assert np.abs(x[1] - y[1]).max() <= 1e-3


def test_prepare_does_nothing_for_the_torch_decoder(lite_pair, tmp_path):
    _, model = lite_pair
    assert not Predictor(model, decoder="torch").prepare_decoder(tmp_path, isolated=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_isolated_export_runs_in_a_child_and_torch_decodes_meanwhile(lite_pair, tmp_path):
    _, model = lite_pair
    image = sample_image("coffee")
    dec = _fresh(model)
    predictor = Predictor(model, decoder="auto")
    predictor.set_image(image)
    assert not predictor.prepare_decoder(tmp_path, isolated=True, block=False)
    child = dec._child
    assert child is not None and child.poll() is None  # exporting in another process
    torch_masks = _box_masks(predictor, image)  # answered by torch meanwhile
    assert dec.session(False, wait=False) is None
    deadline = time.monotonic() + 600
    while dec.session(False, wait=False) is None and time.monotonic() < deadline:
        assert dec.failed is None
        time.sleep(0.2)
    assert child.returncode == 0 and decoder_cache.all_cached(model, tmp_path)
    onnx_masks = _box_masks(predictor, image)
    assert iou(onnx_masks[0], torch_masks[0]).min() >= 0.995


def test_a_failed_child_export_leaves_torch_in_charge(lite_pair, tmp_path, monkeypatch):
    _, model = lite_pair
    dec = _fresh(model)
    monkeypatch.setattr(model, "checkpoint_path", str(tmp_path / "missing.pth"))
    assert not dec.prepare(tmp_path, isolated=True)  # the child cannot load the file
    assert dec.failed is not None and "exited with status" in dec.failed
    assert dec.session(False, wait=True) is None
    runtime._DECODERS.pop(model, None)
