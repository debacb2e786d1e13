"""GUI latency benchmark (issue 5 "Speed"): the model worker, then the real window.

Measures, with the bundled model (or --checkpoint) on this machine:
  * encode stall: the longest gap between 5 ms UI-thread timer ticks while the worker encodes
    (open image + background prefetch encodes); target < 50 ms;
  * switch: read the next (pre-encoded) image file + open_image -> imageReady; target <= 150 ms;
  * click: request_mask -> maskReady delivered in the UI thread, p50 / p95, against the raw
    Predictor.predict time of the same decodes (same-run ratio = threading + signal overhead);
  * window (when annotator.gui.main_window exists; --no-window skips it): point-tool clicks sent
    as Qt mouse events to the canvas -> current-mask overlay repainted (offscreen platform),
    p50 / p95 in steady state and while the window's own prefetch still encodes; D (next image)
    -> imageReady.

Usage: python benchmarks/gui_latency.py [--images A.jpg B.jpg ...] [--clicks 30] [--json OUT]
Prints a table and a JSON object (also written to --json).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.client import BUNDLED_NAME, ModelClient, engine_loader
from annotator.gui.model.requests import MaskResult, PromptSet
from annotator.io.images import read_image as read_rgb  # what the window reads files with

ROOT = Path(__file__).resolve().parents[1]


class Heartbeat:
    """Longest gap between UI-thread ticks of a 5 ms QTimer."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.last = time.perf_counter()
        self.max_gap = 0.0

    def tick(self) -> None:
        now = time.perf_counter()
        self.record(now - self.last)
        self.last = now

    def record(self, gap: float) -> None:
        """One gap between ticks, in seconds."""
        self.max_gap = max(self.max_gap, gap)

    def stop(self) -> float:
        """Stop and return the longest gap, counting the one still open."""
        self.tick()
        self.timer.stop()
        return self.max_gap

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.max_gap = 0.0
        self.timer.start()


def wait_for(signal, predicate=lambda *a: True, timeout_s: float = 300.0) -> tuple:
    """Spin the UI event loop until ``signal`` fires with args satisfying ``predicate``."""
    loop = QEventLoop()
    got: list[tuple] = []

    def on(*args) -> None:
        if not got and predicate(*args):
            got.append(args)
            loop.quit()

    signal.connect(on)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(on)
    if not got:
        raise SystemExit(f"timed out after {timeout_s} s waiting for {signal}")
    return got[0]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def prewarm_decoder(checkpoint: str | None, model_type: str) -> str:
    """Export the ONNX decoder graphs into the app's cache now, as an earlier start of the app
    would have, so that every measured click is in steady state; returns the decoder the app's
    worker can run ("onnx", which "auto" then races against torch, or "torch")."""
    from annotator.engine import Predictor, load_model
    from annotator.engine.onnx.decoder_cache import default_cache_dir

    predictor = Predictor(load_model(checkpoint, model_type=model_type))
    ready = predictor.prepare_decoder(default_cache_dir(), isolated=True, block=True)
    return "onnx" if ready else "torch"


def measure_window(images: list[str], clicks: int, load) -> dict:
    """Drive the real MainWindow: point-tool clicks as Qt mouse events on the canvas, timed to
    the overlay repainted on screen (offscreen platform); D -> next pre-encoded image ready."""
    import shutil
    import tempfile

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from annotator.gui.main_window import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="gui_latency_"))  # the window saves next to images
    for p in images:
        shutil.copy(p, folder / Path(p).name)
    client = ModelClient(load, cache=EmbeddingCache(disk_dir=None))
    win = MainWindow(client)
    painted: list[float] = []
    set_current = win.canvas.set_current

    waiting = QEventLoop()  # runs until the overlay is painted (no busy polling)
    overlay_ms: list[float] = []  # UI-thread time: canvas.set_current + the repaint
    applied: list[float] = []  # when the window got to set_current (after its own handling)

    def timed_set_current(mask, color):
        t0 = time.perf_counter()
        applied.append(t0)
        set_current(mask, color)
        if mask is not None:
            win.canvas.viewport().repaint()  # synchronous paint: the overlay is on screen
            painted.append(time.perf_counter())
            overlay_ms.append((painted[-1] - t0) * 1000)
            waiting.quit()

    win.canvas.set_current = timed_set_current
    prefetched: set[str] = set()
    client.imagePrefetched.connect(prefetched.add)
    decodes: list[float] = []
    client.maskReady.connect(lambda r: decodes.append(r.decode_seconds * 1000))
    try:
        client.start()
        win.resize(1200, 800)
        win.show()
        wait_for(client.modelLoaded)
        win.open_path(folder)
        wait_for(client.imageReady)
        win.set_tool("point")
        h, w = win.session.image.shape[:2]
        rng = np.random.default_rng(1)
        click_ms: list[float] = []
        busy_ms: list[float] = []  # clicks made while the window's prefetch still encoded
        ahead = min(2, len(images) - 1)
        hb = Heartbeat()
        hb.reset()
        for i in range(clicks):
            if i == clicks // 3:  # the rest in steady state: the window's prefetch done
                while len(prefetched) < ahead:
                    wait_for(client.imagePrefetched)
            if i % 4 == 0:
                win.clear_prompts()  # a new object every few clicks, like an annotator
            x, y = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
            n = len(painted)
            during_prefetch = len(prefetched) < ahead
            t0 = time.perf_counter()
            QTest.mouseClick(
                win.canvas.viewport(),
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
                win.canvas.image_to_view(x, y),
            )
            if len(painted) == n:
                QTimer.singleShot(120_000, waiting.quit)
                waiting.exec()
            if len(painted) == n:
                raise SystemExit("the window never showed a mask for a click")
            (busy_ms if during_prefetch else click_ms).append((painted[n] - t0) * 1000)
        click_stall = hb.stop()
        # next image (D) once the window's prefetch of the following images is done
        switch_ms: list[float] = []
        for _ in range(ahead):
            t0 = time.perf_counter()
            win.actions_by_name["next"].trigger()
            wait_for(client.imageReady)
            switch_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        win.hide()
        client.shutdown(60)
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "click_to_overlay_painted_ms": {
            "p50": round(pct(click_ms, 50), 1),
            "p95": round(pct(click_ms, 95), 1),
            "n": len(click_ms),
        },
        "click_to_overlay_painted_during_prefetch_ms": {
            "p50": round(pct(busy_ms, 50), 1),
            "max": round(max(busy_ms), 1) if busy_ms else None,
            "n": len(busy_ms),
        },
        "overlay_set_and_paint_ms_p50": round(pct(overlay_ms, 50), 1),
        "window_raw_decode_ms_p50": round(pct(decodes, 50), 1),
        "window_prompts": "point clicks, up to 4 per object, multimask on the first",
        "window_next_image_ready_ms": [round(v, 1) for v in switch_ms],
        "ui_stall_ms_during_window_clicks": round(click_stall * 1000, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    samples = sorted(str(p) for p in (ROOT / "sample_data").glob("*.jpg"))
    ap.add_argument("--images", nargs="+", default=samples)
    ap.add_argument("--clicks", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3, help="passes over the pre-encoded images")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--model-type", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-window", action="store_true", help="skip the MainWindow part")
    ap.add_argument(
        "--decoder",
        choices=("auto", "onnx", "torch"),
        default=None,
        help="the worker's decoder (sets ANNOTATOR_DECODER; default: as the app, auto)",
    )
    args = ap.parse_args(argv)
    if args.decoder:
        os.environ["ANNOTATOR_DECODER"] = args.decoder
    if len(args.images) < 2:
        ap.error("need at least two images")

    app = QApplication.instance() or QApplication([])
    ckpt, mtype, device = args.checkpoint, args.model_type, args.device

    loaded: list = []  # the worker's predictors, to read which decoder "auto" settled on

    def load():
        loaded.append(engine_loader(ckpt, mtype, device))
        return loaded[-1]

    load.display_name = Path(ckpt).name if ckpt else BUNDLED_NAME
    decoder = prewarm_decoder(ckpt, mtype)
    client = ModelClient(
        load,
        cache=EmbeddingCache(disk_dir=None),  # measure real encodes, not last run's disk cache
    )
    errors: list[str] = []
    client.errorOccurred.connect(errors.append)
    client.start()
    info = wait_for(client.modelLoaded)[0]
    hb = Heartbeat()

    # 1. encode stall: open the first image, then prefetch the rest, all in the background
    images = [str(p) for p in args.images]
    hb.reset()
    client.open_image(images[0], read_rgb(images[0]))
    _, encode_s = wait_for(client.imageReady, lambda k, s: k == images[0])
    stall_open = hb.stop()
    hb.reset()
    done: set[str] = set()
    client.imagePrefetched.connect(done.add)
    client.prefetch([(p, p) for p in images[1:]])
    while len(done) < len(images) - 1:
        wait_for(client.imagePrefetched)
    stall_prefetch = hb.stop()

    # 2. switch to a pre-encoded image -> ready (file read on the UI thread included)
    switch_ms: list[float] = []
    switch_stall = 0.0
    for _ in range(args.rounds):
        for path in images[1:] + images[:1]:
            hb.reset()
            t0 = time.perf_counter()
            client.open_image(path, read_rgb(path))
            wait_for(client.imageReady, lambda k, s, p=path: k == p)
            switch_ms.append((time.perf_counter() - t0) * 1000)
            switch_stall = max(switch_stall, hb.stop())

    # 3. click -> maskReady on the UI thread; refine with the previous best logits like the app
    current = images[0]
    h, w = read_rgb(current).shape[:2]
    rng = np.random.default_rng(0)
    click_ms: list[float] = []
    decode_ms: list[float] = []
    prev: MaskResult | None = None
    hb.reset()
    for i in range(args.clicks):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        box = np.array([cx - w / 6, cy - h / 6, cx + w / 6, cy + h / 6], np.float32)
        prompts = PromptSet(
            np.array([[cx, cy]], np.float32),
            np.array([1], np.int32),
            box=box,
            mask_input=prev.best_logits() if prev is not None and i % 5 else None,
            multimask=prev is None,
        )
        t0 = time.perf_counter()
        rid = client.request_mask(prompts)
        (prev,) = wait_for(client.maskReady, lambda r, rid=rid: r.request_id == rid)
        click_ms.append((time.perf_counter() - t0) * 1000)
        decode_ms.append(prev.decode_seconds * 1000)
    click_stall = hb.stop()
    client.shutdown(60)

    p50_click, p50_dec = pct(click_ms, 50), pct(decode_ms, 50)
    report = {
        "model": {"name": info.name, "type": info.model_type, "device": info.device},
        "images": [Path(p).name for p in images],
        "cpu_threads": os.cpu_count(),
        "decoder": getattr(loaded[0], "active_decoder", decoder) if loaded else decoder,
        "encode_s_first": round(encode_s, 3),
        "ui_stall_ms": {
            "during_open_encode": round(stall_open * 1000, 1),
            "during_prefetch_encodes": round(stall_prefetch * 1000, 1),
            "during_switches": round(switch_stall * 1000, 1),
            "during_clicks": round(click_stall * 1000, 1),
            "target": 50,
        },
        "switch_to_preencoded_ready_ms": {
            "p50": round(pct(switch_ms, 50), 1),
            "p95": round(pct(switch_ms, 95), 1),
            "max": round(max(switch_ms), 1),
            "n": len(switch_ms),
            "target": 150,
        },
        "click_to_maskReady_ms": {
            "p50": round(p50_click, 1),
            "p95": round(pct(click_ms, 95), 1),
            "n": len(click_ms),
        },
        "raw_decode_ms": {"p50": round(p50_dec, 1), "p95": round(pct(decode_ms, 95), 1)},
        "click_over_raw_decode_p50": round(p50_click / p50_dec, 2),
        "median_click_overhead_ms": round(statistics.median(np.subtract(click_ms, decode_ms)), 1),
        "errors": errors,
    }
    window = None
    if not args.no_window:
        try:
            import annotator.gui.main_window  # noqa: F401
        except ImportError as exc:
            report["window"] = f"not measured: {exc}"
        else:
            window = measure_window(images, args.clicks, load)
            report["window"] = window
    rows = [
        ("UI stall while encoding (open)", f"{stall_open * 1000:.1f} ms", "< 50 ms"),
        ("UI stall while prefetch-encoding", f"{stall_prefetch * 1000:.1f} ms", "< 50 ms"),
        ("switch to pre-encoded -> ready p50", f"{pct(switch_ms, 50):.1f} ms", "<= 150 ms"),
        ("switch to pre-encoded -> ready max", f"{max(switch_ms):.1f} ms", "<= 150 ms"),
        ("click -> maskReady p50", f"{p50_click:.1f} ms", ""),
        ("click -> maskReady p95", f"{pct(click_ms, 95):.1f} ms", ""),
        ("raw Predictor.predict p50", f"{p50_dec:.1f} ms", "reference"),
        ("click / raw decode (p50)", f"{p50_click / p50_dec:.2f}x", ""),
        ("first encode", f"{encode_s:.2f} s", ""),
    ]
    if window is not None:
        c = window["click_to_overlay_painted_ms"]
        rows[4:4] = [
            ("click -> overlay painted (window) p50", f"{c['p50']:.1f} ms", ""),
            ("click -> overlay painted (window) p95", f"{c['p95']:.1f} ms", ""),
            (
                "  same, while prefetch encodes, p50",
                f"{window['click_to_overlay_painted_during_prefetch_ms']['p50']:.1f} ms",
                "",
            ),
        ]
    print(
        f"model: {info.name} ({info.model_type}) on {info.device}, decoder {report['decoder']}; "
        f"{len(images)} images"
    )
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:>10}  {target}")
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    del app
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
