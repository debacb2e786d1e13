"""ModelClient behaviour as the window sees it: signals, queueing, coalescing, stale drops."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.client import ModelClient
from annotator.gui.model.requests import MaskResult, PromptSet


def click(x: float, y: float, *more: tuple[float, float], multimask: bool = False) -> PromptSet:
    pts = np.array([(x, y), *more], np.float32)
    return PromptSet(pts, np.ones(len(pts), np.int32), multimask=multimask)


@pytest.fixture
def make_client(qtbot, fake_predictor):
    clients: list[ModelClient] = []

    def make(predictor=None, **kwargs) -> tuple[ModelClient, object]:
        predictor = predictor or fake_predictor()
        kwargs.setdefault("cache", EmbeddingCache(disk_dir=None))
        client = ModelClient(lambda: predictor, **kwargs)
        clients.append(client)
        with qtbot.waitSignal(client.modelLoaded, timeout=5000) as blocker:
            client.start()
        assert blocker.args[0].model_type == "vit_t"
        return client, predictor

    yield make
    for client in clients:
        assert client.shutdown(10)


def test_model_runs_only_in_worker_thread_and_prompts_wait_for_encoding(
    qtbot, make_client, fake_predictor, fake_image
):
    client, pred = make_client(fake_predictor(encode_delay=0.3))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    with qtbot.waitSignal(client.encodingStarted, timeout=5000) as started:
        client.open_image("a.png", fake_image())
        rid = client.request_mask(click(10, 20))  # before encoding finished
        assert client.is_busy()
    assert started.args == ["a.png"]
    with qtbot.waitSignal(client.maskReady, timeout=5000):
        pass
    assert len(results) == 1 and results[0].request_id == rid
    r = results[0]
    assert r.image_key == "a.png" and r.masks.shape == (1, 48, 64) and r.masks.dtype == bool
    assert r.masks[0, 20, 10] and not r.masks[0, 0, 0]  # the square around the click
    assert r.low_res_logits.shape == (1, 256, 256) and r.best_logits().shape == (1, 256, 256)
    assert pred.thread_ids and threading.get_ident() not in pred.thread_ids
    qtbot.waitUntil(lambda: not client.is_busy(), timeout=2000)


def test_50_rapid_requests_give_one_result_for_the_final_prompts_without_blocking_ui(
    qtbot, make_client, fake_predictor, fake_image, heartbeat
):
    client, pred = make_client(fake_predictor(encode_delay=0.5, decode_delay=0.05))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    with heartbeat() as hb:
        with qtbot.waitSignal(client.imageReady, timeout=5000):
            client.open_image("a.png", fake_image())
            client.request_mask(click(1, 1))  # queued behind the encode, then superseded
        ids = []
        for i in range(50):
            ids.append(client.request_mask(click(5 + i, 10)))
            qtbot.wait(2)  # let events flow, as real clicks would: decodes overlap requests
        qtbot.waitUntil(lambda: len(results) == 1 and not client.is_busy(), timeout=5000)
        qtbot.wait(200)  # nothing else may arrive
    assert len(results) == 1
    assert results[0].request_id == ids[-1]
    assert results[0].prompts.points[0, 0] == pytest.approx(54)
    assert results[0].masks[0, 10, 54]
    assert len(pred.decoded) < 50  # coalesced: never a queue of stale decodes
    assert hb.max_gap < 0.3, f"UI thread stalled {hb.max_gap * 1000:.0f} ms during a 500 ms encode"


def test_result_of_a_superseded_request_is_dropped(qtbot, make_client, fake_predictor, fake_image):
    client, pred = make_client(fake_predictor(decode_delay=0.3))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image())
    client.request_mask(click(3, 3))
    qtbot.waitUntil(lambda: len(pred.decoded) == 1, timeout=5000)  # first decode under way
    rid = client.request_mask(click(30, 30))
    qtbot.waitUntil(lambda: len(pred.decoded) == 2 and not client.is_busy(), timeout=5000)
    qtbot.wait(100)
    assert [r.request_id for r in results] == [rid]


def test_result_for_a_previous_image_is_dropped(qtbot, make_client, fake_predictor, fake_image):
    client, pred = make_client(fake_predictor(decode_delay=0.3))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image(value=1))
    client.request_mask(click(3, 3))
    qtbot.waitUntil(lambda: len(pred.decoded) == 1, timeout=5000)  # decode of a.png under way
    client.open_image("b.png", fake_image(value=2))
    rid = client.request_mask(click(30, 30))
    qtbot.waitUntil(lambda: len(results) == 1, timeout=5000)
    qtbot.wait(100)
    assert [(r.image_key, r.request_id) for r in results] == [("b.png", rid)]


def test_multimask_candidates_and_mask_input_are_passed_through(qtbot, make_client, fake_image):
    client, pred = make_client()
    client.open_image("a.png", fake_image())
    with qtbot.waitSignal(client.maskReady, timeout=5000) as first:
        client.request_mask(click(20, 20, multimask=True))
    r1: MaskResult = first.args[0]
    assert r1.masks.shape[0] == 3 and r1.best_index == 0
    box = np.array([10, 10, 40, 30], np.float32)
    prompts = PromptSet(
        np.array([[20, 20], [25, 25]], np.float32),
        np.array([1, 0], np.int32),
        box=box,
        mask_input=r1.best_logits(),
    )
    with qtbot.waitSignal(client.maskReady, timeout=5000) as second:
        client.request_mask(prompts)
    assert second.args[0].masks.shape[0] == 1
    last = pred.decoded[-1]
    np.testing.assert_array_equal(last["labels"], [1, 0])
    np.testing.assert_array_equal(last["box"], box)
    np.testing.assert_array_equal(last["mask_input"], r1.low_res_logits[:1])


def test_empty_prompts_clear_the_mask_and_cancel_the_pending_decode(
    qtbot, make_client, fake_predictor, fake_image
):
    client, pred = make_client(fake_predictor(encode_delay=0.2))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    client.open_image("a.png", fake_image())
    client.request_mask(click(5, 5))
    rid = client.request_mask(PromptSet.empty())
    qtbot.waitUntil(lambda: len(results) == 1 and not client.is_busy(), timeout=5000)
    qtbot.wait(50)
    assert results[0].request_id == rid and results[0].masks.shape == (0, 48, 64)
    assert pred.decoded == []


def test_reopening_an_image_uses_the_memory_cache(qtbot, make_client, fake_predictor, fake_image):
    client, pred = make_client(fake_predictor(encode_delay=0.05))
    for key, value in [("a.png", 1), ("b.png", 2)]:
        with qtbot.waitSignal(client.imageReady, timeout=5000) as ready:
            client.open_image(key, fake_image(value=value))
        assert ready.args[0] == key and ready.args[1] > 0
    with qtbot.waitSignal(client.imageReady, timeout=5000) as ready:
        client.open_image("a.png", fake_image(value=1))
    assert ready.args == ["a.png", 0.0]
    assert len(pred.encoded) == 2
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        client.request_mask(click(1, 1))
    assert got.args[0].image_key == "a.png"


def test_disk_cache_makes_a_new_session_instant(qtbot, make_client, tmp_path, fake_image):
    first, _ = make_client(cache=EmbeddingCache(disk_dir=tmp_path))
    with qtbot.waitSignal(first.imageReady, timeout=5000):
        first.open_image("a.png", fake_image(value=3))
    assert first.shutdown(5)
    second, pred2 = make_client(cache=EmbeddingCache(disk_dir=tmp_path))
    with qtbot.waitSignal(second.imageReady, timeout=5000) as ready:
        second.open_image("renamed.png", fake_image(value=3))  # same pixels, other name
    assert ready.args == ["renamed.png", 0.0] and pred2.encoded == []
    with qtbot.waitSignal(second.maskReady, timeout=5000) as got:
        second.request_mask(click(7, 8))
    assert got.args[0].masks[0, 8, 7]


def test_request_before_open_image_is_a_programming_error(make_client):
    client, _ = make_client()
    with pytest.raises(RuntimeError, match="open_image"):
        client.request_mask(click(1, 1))


def test_cancel_mask_drops_the_result_in_flight(qtbot, make_client, fake_predictor, fake_image):
    """The window keeps no request ids: after cancel_mask (a brush edit, undo, Esc) the decode
    under way is never delivered, and awaiting_mask says no result is to come."""
    client, pred = make_client(fake_predictor(decode_delay=0.3))
    results: list[MaskResult] = []
    client.maskReady.connect(results.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image())
    assert not client.awaiting_mask
    client.request_mask(click(3, 3))
    assert client.awaiting_mask
    qtbot.waitUntil(lambda: len(pred.decoded) == 1, timeout=5000)  # decode under way
    client.cancel_mask()
    assert not client.awaiting_mask
    qtbot.waitUntil(lambda: not client.is_busy(), timeout=5000)
    qtbot.wait(100)
    assert results == []
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        rid = client.request_mask(click(9, 9))
    assert got.args[0].request_id == rid and not client.awaiting_mask


def test_a_worker_error_makes_the_request_stale(qtbot, make_client, fake_predictor, fake_image):
    client, pred = make_client(fake_predictor())
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image())
    pred.fail_next_decode = RuntimeError("boom")
    with qtbot.waitSignal(client.errorOccurred, timeout=5000):
        client.request_mask(click(3, 3))
    assert not client.awaiting_mask
