"""Polygon vertex-drag latency (issue 15): dragging a vertex of a mask of about 2,000 px
perimeter must update the overlay within 30 ms p95.

Real Qt mouse moves are sent to the canvas (offscreen platform) with the polygon tool active;
each sample is the time from the move event to the repainted viewport: the tool moves the
vertex and rasterises the rings, the canvas redraws the current-mask overlay, its outline and
the vertex handles. The same-run reference is a brush stroke on the same mask (the brush
redraws the same overlay per move), so the ratio says what the polygon path costs on top.
(This lives beside benchmarks/gui_latency.py, which needs a model; this one does not.)

Usage: python benchmarks/polygon_drag.py [--moves 60] [--size 1280x960] [--json OUT]
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

import cv2
import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from annotator.gui.tools import BrushTool, PolygonTool
from annotator.gui.widgets.canvas import Canvas

TARGET_P95_MS = 30.0


def blob(h: int, w: int, perimeter: float) -> np.ndarray:
    """A wobbly disk of about `perimeter` px outline, with a hole, (h, w) bool."""
    r = perimeter / (2 * np.pi)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    rr = r * (1 + 0.05 * np.sin(7 * t))
    pts = np.stack([w / 2 + rr * np.cos(t), h / 2 + rr * np.sin(t)], 1).astype(np.int32)
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [pts], 1)
    cv2.circle(m, (w // 2, h // 2), int(r / 4), 0, -1)
    return m.astype(bool)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def drag_times(canvas: Canvas, tool, start: tuple[float, float], moves: int) -> list[float]:
    """ms from each mouse move to the repainted viewport, over one drag of `moves` moves."""
    canvas.set_tool(tool)
    vp = canvas.viewport()

    def at(x: float, y: float) -> QPoint:
        return canvas.image_to_view(x, y)

    x0, y0 = start
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x0, y0))
    times = []
    for i in range(1, moves + 1):
        time.sleep(0.012)  # pyqtgraph drops moves closer than 1/100 s apart
        x, y = x0 - 0.5 * i, y0 - 0.3 * i
        t0 = time.perf_counter()
        QTest.mouseMove(vp, at(x, y))
        QApplication.processEvents()  # delivers the drag, then the viewport's repaint
        times.append((time.perf_counter() - t0) * 1000)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at(x, y))
    QApplication.processEvents()
    return times[2:]  # the first moves start the drag (pyqtgraph's threshold)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--moves", type=int, default=60)
    ap.add_argument("--size", default="1280x960")
    ap.add_argument("--perimeter", type=float, default=2000.0)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved polygon/brush drags")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.split("x"))
    app = QApplication.instance() or QApplication([])
    canvas = Canvas()
    canvas.resize(1200, 900)
    canvas.show()
    image = np.full((h, w, 3), 90, np.uint8)
    canvas.set_image(image)
    app.processEvents()
    mask = blob(h, w, args.perimeter)
    state = {"mask": mask}

    def commit(m: np.ndarray) -> None:
        state["mask"] = m

    def show(tool) -> None:  # what MainWindow._on_tool_event does
        if tool.working is not None:
            canvas.set_current(tool.working, "#4363d8")

    poly = PolygonTool(lambda: state["mask"], commit, (w, h))
    brush = BrushTool(lambda: state["mask"], commit, (w, h), radius=8)
    canvas.toolEvent.connect(lambda: show(canvas.tool))
    outer = max((r for r in poly.rings if not r.hole), key=lambda r: len(r.points))
    perimeter = float(np.sum(np.hypot(*np.diff(outer.points, axis=0, append=outer.points[:1]).T)))
    vertex = tuple(outer.points[0])
    times = {"polygon": [], "brush": []}
    canvas.set_current(mask, "#4363d8")
    for _ in range(args.rounds):
        state["mask"] = mask
        times["polygon"] += drag_times(canvas, poly, vertex, args.moves)
        state["mask"] = mask
        times["brush"] += drag_times(canvas, brush, vertex, args.moves)
    report = {
        "image": f"{w}x{h}",
        "mask_perimeter_px": round(perimeter),
        "vertices": len(outer.points),
        "moves": len(times["polygon"]),
    }
    for name, values in times.items():
        report[f"{name}_p50_ms"] = round(statistics.median(values), 2)
        report[f"{name}_p95_ms"] = round(pct(values, 0.95), 2)
    report["polygon_vs_brush_p50_ratio"] = round(
        report["polygon_p50_ms"] / max(report["brush_p50_ms"], 1e-9), 2
    )
    report["target_p95_ms"] = TARGET_P95_MS
    report["meets_target"] = report["polygon_p95_ms"] <= TARGET_P95_MS
    print(f"{'drag':<10}{'p50 ms':>10}{'p95 ms':>10}")
    for name in times:
        print(f"{name:<10}{report[f'{name}_p50_ms']:>10.2f}{report[f'{name}_p95_ms']:>10.2f}")
    print(f"mask perimeter {report['mask_perimeter_px']} px, {report['vertices']} vertices")
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
