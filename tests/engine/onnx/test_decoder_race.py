"""decoder="auto": the first clicks alternate between torch and ONNX Runtime, then the faster
one (lower median decode time) runs every click."""

from __future__ import annotations

import numpy as np

from annotator.engine import Predictor
from annotator.engine.onnx import runtime
from annotator.engine.onnx.race import DecoderRace
from tests.engine.oracles import sample_image


def test_the_race_alternates_skips_warmups_and_keeps_the_lower_median():
    race = DecoderRace(rounds=3, warmup=1)
    # ONNX is slow on its warm-up click and on one outlier, faster at the median.
    timings = {"torch": [9.0, 0.020, 0.021, 0.019], "onnx": [9.0, 0.015, 0.500, 0.016]}
    order = []
    while race.winner is None:
        path = race.next()
        order.append(path)
        race.record(path, timings[path][order.count(path) - 1])
    assert order == ["torch", "onnx"] * 4
    assert race.winner == "onnx" and race.next() == "onnx"
    assert race.medians_ms() == {"torch": 20.0, "onnx": 16.0}
    race.record("torch", 0.001)  # once decided, later clicks change nothing
    assert race.winner == "onnx"


def test_auto_runs_the_winner_on_every_later_click(lite_pair, monkeypatch):
    _, model = lite_pair
    monkeypatch.setattr(runtime, "_DECODERS", type(runtime._DECODERS)())
    p = Predictor(model, decoder="auto")
    assert p.active_decoder == "torch"  # nothing built yet
    assert p.prepare_decoder()
    p.set_image(sample_image("coffee"))
    assert p.active_decoder == "measuring"
    race = runtime.onnx_decoder(model).race
    ran = []
    record = race.record
    monkeypatch.setattr(race, "record", lambda path, s: (ran.append(path), record(path, s)))
    box = np.array([40.0, 30.0, 300.0, 260.0])
    first = p.predict(box=box, multimask_output=False)
    while race.winner is None:
        again = p.predict(box=box, multimask_output=False)
        assert (again[0] == first[0]).mean() > 0.999  # both paths give the same mask
    assert ran == ["torch", "onnx"] * 4
    assert p.active_decoder == race.winner
    # After the race the winner's path runs: ONNX keeps its session busy, torch never calls it.
    calls = []
    decode = runtime.OnnxDecoder.decode
    monkeypatch.setattr(
        runtime.OnnxDecoder, "decode", lambda self, *a: (calls.append(1), decode(self, *a))[1]
    )
    for _ in range(3):
        p.predict(box=box, multimask_output=True)
    assert len(calls) == (3 if race.winner == "onnx" else 0)
