"""Worker scheduling and failure handling: prefetch, checkpoint loads, errors it survives."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.client import ModelClient
from annotator.gui.model.requests import LoadedModel, PromptSet

CLICK = PromptSet(np.array([[12, 9]], np.float32), np.array([1], np.int32))


@pytest.fixture
def clients():
    made: list[ModelClient] = []
    yield made
    for client in made:
        assert client.shutdown(10)


def started(qtbot, clients, predictor, **kwargs) -> ModelClient:
    kwargs.setdefault("cache", EmbeddingCache(disk_dir=None))
    client = ModelClient(lambda: predictor, **kwargs)
    clients.append(client)
    with qtbot.waitSignals([client.modelLoaded, client.idle], timeout=5000):
        client.start()
    return client


def test_serial_prefetch_in_the_worker_opens_from_cache(qtbot, clients, fake_predictor, fake_image):
    """The fallback when no background twin can be built: the worker pre-encodes itself."""
    images = {f"/img/{i}.png": fake_image(value=10 + i) for i in range(3)}
    pred = fake_predictor(encode_delay=0.05)
    client = started(
        qtbot, clients, pred, image_reader=images.__getitem__, background_prefetch=False
    )
    prefetched: list[str] = []
    client.imagePrefetched.connect(prefetched.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("/img/0.png", images["/img/0.png"])
    client.prefetch([(k, k) for k in images])  # the open one is skipped: already cached
    qtbot.waitUntil(lambda: len(prefetched) == 3, timeout=5000)
    assert prefetched == list(images) and len(pred.encoded) == 3
    with qtbot.waitSignal(client.imageReady, timeout=5000) as ready:
        client.open_image("/img/2.png", images["/img/2.png"])
    assert ready.args == ["/img/2.png", 0.0]
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        client.request_mask(CLICK)  # decodes on /img/2 although /img/1 was encoded last
    assert got.args[0].image_key == "/img/2.png" and len(pred.encoded) == 3


def test_serial_prefetch_delays_a_decode_by_at_most_one_encode(
    qtbot, clients, fake_predictor, fake_image
):
    images = {f"/img/{i}.png": fake_image(value=20 + i) for i in range(6)}
    pred = fake_predictor(encode_delay=0.2)
    client = started(
        qtbot, clients, pred, image_reader=images.__getitem__, background_prefetch=False
    )
    prefetched: list[str] = []
    client.imagePrefetched.connect(prefetched.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("/img/0.png", images["/img/0.png"])
    client.prefetch([(k, k) for k in list(images)[1:]])
    qtbot.waitUntil(lambda: len(pred.encoded) >= 1 + 1 or len(prefetched) >= 1, timeout=5000)
    with qtbot.waitSignal(client.maskReady, timeout=5000):
        client.request_mask(CLICK)
    assert len(prefetched) <= 2, "the decode waited behind the prefetch queue"
    qtbot.waitUntil(lambda: len(prefetched) == 5, timeout=5000)


def test_unreadable_prefetch_file_is_skipped_silently(qtbot, clients, fake_predictor, fake_image):
    def reader(path: str) -> np.ndarray:
        if path == "bad.png":
            raise ValueError("bad.png: not an image")
        return fake_image(value=5)

    client = started(qtbot, clients, fake_predictor(), image_reader=reader)
    errors: list[str] = []
    prefetched: list[str] = []
    client.errorOccurred.connect(errors.append)
    client.imagePrefetched.connect(prefetched.append)
    client.prefetch([("bad.png", "bad.png"), ("good.png", "good.png")])
    qtbot.waitUntil(lambda: len(prefetched) == 1, timeout=5000)
    assert prefetched == ["good.png"] and errors == []


def test_bad_image_reports_an_error_and_the_worker_keeps_working(
    qtbot, clients, fake_predictor, fake_image
):
    pred = fake_predictor()
    client = started(qtbot, clients, pred)
    with qtbot.waitSignal(client.errorOccurred, timeout=5000) as err:
        client.open_image("broken.tif", np.zeros((4, 4, 7), np.uint8))
        client.request_mask(CLICK)  # cannot decode; must not stay busy forever
    assert "broken.tif" in err.args[0] and "(H, W, 3)" in err.args[0]
    qtbot.waitUntil(lambda: not client.is_busy(), timeout=2000)
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        client.open_image("ok.png", fake_image())
        client.request_mask(CLICK)
    assert got.args[0].image_key == "ok.png"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out of memory"),
        (RuntimeError("mat1 and mat2 shapes cannot be multiplied"), "shapes cannot"),
    ],
)
def test_decode_failure_is_reported_and_the_next_request_works(
    qtbot, clients, exc, expected, fake_predictor, fake_image
):
    pred = fake_predictor()
    client = started(qtbot, clients, pred)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image())
    pred.fail_next_decode = exc
    with qtbot.waitSignal(client.errorOccurred, timeout=5000) as err:
        client.request_mask(CLICK)
    assert "a.png" in err.args[0] and expected in err.args[0]
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        client.request_mask(CLICK)  # state restored from the cache if the OOM cleared it
    assert got.args[0].masks[0, 9, 12]


def test_encode_out_of_memory_is_reported_then_other_images_work(
    qtbot, clients, fake_predictor, fake_image
):
    pred = fake_predictor()
    client = started(qtbot, clients, pred)
    pred.fail_next_encode = MemoryError()
    with qtbot.waitSignal(client.errorOccurred, timeout=5000) as err:
        client.open_image("huge.png", fake_image())
    assert "huge.png" in err.args[0] and "out of memory" in err.args[0]
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("small.png", fake_image(value=1))


def test_checkpoint_load_progress_errors_and_reencode(
    qtbot, clients, fake_predictor, fake_model, fake_image
):
    other = fake_predictor(model=fake_model(model_type="vit_b", model_id="fake-v2"))

    def loader(checkpoint, model_type, device, dtype):
        if checkpoint.endswith("bad.pth"):
            raise ValueError(f"{checkpoint}: not a SAM checkpoint (missing image_encoder.*)")
        return other

    first = fake_predictor()
    client = started(qtbot, clients, first, loader=loader)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("a.png", fake_image())
    messages: list[str] = []
    infos: list[LoadedModel] = []
    client.modelLoading.connect(messages.append)
    client.modelLoaded.connect(infos.append)

    with qtbot.waitSignal(client.errorOccurred, timeout=5000) as err:
        client.load_model("/models/bad.pth")
    assert "bad.pth" in err.args[0] and "previous model stays" in err.args[0]
    with qtbot.waitSignal(client.maskReady, timeout=5000):
        client.request_mask(CLICK)
    assert len(first.decoded) == 1  # the old model still serves

    with qtbot.waitSignals([client.modelLoaded, client.imageReady], timeout=5000):
        client.load_model("/models/sam_vit_b.pth", "vit_b", "cpu")
    [info] = infos
    assert info == LoadedModel("sam_vit_b.pth", "vit_b", "CPU", "points_and_boxes")
    assert messages == ["Loading bad.pth…", "Loading sam_vit_b.pth…"]
    assert client.model_info == info and len(other.encoded) == 1  # re-encoded by the new model
    with qtbot.waitSignal(client.maskReady, timeout=5000):
        client.request_mask(CLICK)
    assert len(other.decoded) == 1 and len(first.decoded) == 1


def test_shutdown_during_an_encode_waits_for_it(qtbot, fake_predictor, fake_image):
    client = ModelClient(lambda: fake_predictor(encode_delay=0.3))
    with qtbot.waitSignal(client.modelLoaded, timeout=5000):
        client.start()
    with qtbot.waitSignal(client.encodingStarted, timeout=5000):
        client.open_image("a.png", fake_image())
    assert client.shutdown(5)
    assert client.shutdown(5)  # idempotent (closeEvent may run twice)


def test_shutdown_returns_only_after_the_model_thread_has_finished(qtbot, fake_predictor):
    """The window frees the client right after shutdown(). The model thread's last act, in
    QThread's finish (where isRunning() is already False), deletes its workers; freeing the
    client during it crashed (SIGSEGV in PySide, reading a wrapper the UI thread was freeing).
    Here shutdown() comes while the thread is in finish, the race made certain."""
    client = ModelClient(lambda: fake_predictor())
    with qtbot.waitSignal(client.modelLoaded, timeout=5000):
        client.start()
    finishing, last_act_done = threading.Event(), threading.Event()

    def last_act() -> None:  # in the model thread, inside finish, beside the worker's deletion
        finishing.set()
        time.sleep(0.3)  # finish otherwise takes microseconds: make the window wide
        last_act_done.set()

    client._thread.finished.connect(last_act, Qt.ConnectionType.DirectConnection)
    client._thread.quit()  # the event loop ends as shutdown() would end it
    assert finishing.wait(5)
    assert client.shutdown(5)
    assert last_act_done.is_set(), "shutdown() returned while the model thread was finishing"


def test_background_prefetch_never_delays_a_foreground_decode(
    qtbot, clients, fake_predictor, fake_image
):
    """The default: a second thread + Predictor on the same model (low-priority CUDA stream on
    a GPU, a niced thread on a CPU); the worker answers while a prefetch encode runs."""
    images = {f"/img/{i}.png": fake_image(value=30 + i) for i in range(3)}
    background: list = []

    def make_background(fg):
        background.append(fake_predictor(encode_delay=0.6, model=fg.model))
        return background[-1]

    pred = fake_predictor(encode_delay=0.05, decode_delay=0.01)
    client = started(
        qtbot, clients, pred, image_reader=images.__getitem__, background_prefetch=make_background
    )
    prefetched: list[str] = []
    client.imagePrefetched.connect(prefetched.append)
    with qtbot.waitSignal(client.imageReady, timeout=5000):
        client.open_image("/img/0.png", images["/img/0.png"])
    client.prefetch([(k, k) for k in list(images)[1:]])
    assert background[0].encode_started.wait(5)
    with qtbot.waitSignal(client.maskReady, timeout=5000) as got:
        client.request_mask(CLICK)
    assert got.args[0].image_key == "/img/0.png"
    assert prefetched == [] and background[0].encoded == []  # answered mid background encode
    qtbot.waitUntil(lambda: len(prefetched) == 2, timeout=5000)
    assert pred.encoded == [(48, 64, 3)] and len(background[0].encoded) == 2
    assert not pred.thread_ids & background[0].thread_ids
    # yields the CPU to the UI: 10 nicer than the foreground, or the nicest there is (19)
    assert min(background[0].niceness) >= min(max(pred.niceness) + 10, 19)
    with qtbot.waitSignal(client.imageReady, timeout=5000) as ready:
        client.open_image("/img/2.png", images["/img/2.png"])
    assert ready.args == ["/img/2.png", 0.0]


def test_a_client_dropped_without_shutdown_does_not_abort_the_process(tmp_path):
    """Qt aborts when a running QThread is destroyed: a forgotten shutdown() must not crash."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "drop.py"
    script.write_text(
        "import gc\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from annotator.gui.model.client import ModelClient\n"
        "from tests.gui.model.conftest import FakePredictor, fake_image  # no pytest here\n"
        "app = QApplication([])\n"
        "kept = ModelClient(lambda: FakePredictor(encode_delay=0.2))\n"
        "kept.start()\n"
        "kept.open_image('a.png', fake_image())\n"
        "dropped = ModelClient(lambda: FakePredictor())\n"
        "dropped.start()\n"
        "del dropped\n"
        "gc.collect()\n"
        "print('exiting')\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {"QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exiting" in proc.stdout


def test_prefetch_reads_folder_files_with_the_store_reader(qtbot, clients, fake_predictor):
    from pathlib import Path

    from annotator.io.images import read_image

    sample = Path(__file__).resolve().parents[3] / "sample_data"
    paths = [str(sample / n) for n in ("chelsea.jpg", "coffee.jpg")]
    pred = fake_predictor()
    client = started(qtbot, clients, pred)  # default reader: annotator.io.images.read_image
    prefetched: list[str] = []
    client.imagePrefetched.connect(prefetched.append)
    client.prefetch([(p, p) for p in paths])
    qtbot.waitUntil(lambda: prefetched == paths, timeout=5000)
    assert pred.encoded == []  # the background twin did it, off the worker thread
    with qtbot.waitSignal(client.imageReady, timeout=5000) as ready:
        client.open_image(paths[1], read_image(paths[1]))
    assert ready.args == [paths[1], 0.0]
