"""The README screenshot of a sequence (issue 13): a short clip made from sample_data's
astronaut photo by moving a crop, opened as a video, two objects marked on frame 0 with the
bundled LiteMedSAM (boxes), propagated forward, shown mid-clip with the frame slider and the
Sequence toolbar. Saves docs/images/sequence.png.

No SAM 2.1 weights ship with the project (only random ones, whose masks mean nothing), so the
propagation here is the tests' stand-in tracker (tests/gui/fakes/propagator.py), moving each
key mask by the crop's known motion; the window, slider, mask list and writing of the frames
are the app's own. With --checkpoint a SAM 2.1 checkpoint, the real model thread propagates.

    python scripts/sequence_screenshot.py [--checkpoint sam2.1_hiera_tiny.pt] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.screenshots import settle, start_xvfb, wait_until  # noqa: E402

FRAMES, STEP, SIZE = 10, 4, (360, 300)  # frames, crop motion px/frame (leftward), crop W x H
OBJECTS = (("patch", (15, 145, 92, 223)), ("helmet", (162, 140, 359, 299)))  # boxes on frame 0


def make_clip(path: Path) -> Path:
    photo = cv2.imread(str(ROOT / "sample_data" / "astronaut.jpg"))
    w, h = SIZE
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for i in range(FRAMES):
        x = 120 - STEP * i
        writer.write(np.ascontiguousarray(photo[200 : 200 + h, x : x + w]))
    writer.release()
    return path


def shoot(out: Path, checkpoint: str | None) -> None:
    from PySide6.QtWidgets import QApplication

    from annotator.gui.main_window import MainWindow
    from annotator.gui.model.client import ModelClient

    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="annotator-seqshot-"))
    os.environ["ANNOTATOR_SETTINGS"] = str(work / "settings.ini")
    client = ModelClient()
    win = MainWindow(client)
    if checkpoint is None:
        from tests.gui.fakes.propagator import FakePropagator

        fake = FakePropagator(delay_ms=30, shift=STEP)
        view = win.sequence
        view.client = fake
        fake.frameReady.connect(win.session.sequence.apply_frame)
        fake.finished.connect(lambda job, c: win.session.sequence.finish(job, c))
    win.resize(1400, 860)
    win.show()
    client.start()
    wait_until(app, lambda: win.session.model_name != "", 180, "the bundled model")
    win.sequence.open_video(make_clip(work / "walk.avi"))
    s = win.session

    def shown() -> bool:
        return not s.editor.decoding and not client.is_busy() and s.prompts.current_mask is not None

    for name, box in OBJECTS:
        s.add_category(name)
        s.set_category(s.doc.category_by_name(name).id)
        s.editor.set_box(box)
        wait_until(app, shown, 180, name)
        s.editor.accept()
    if checkpoint is not None:
        win.load_model(checkpoint)
        wait_until(app, lambda: not client.is_busy(), 600, checkpoint)
    win.sequence.propagate("forward")
    wait_until(app, lambda: not s.sequence.running, 600, "the propagation")
    win.sequence.slider.slider.setValue(6)
    wait_until(app, lambda: not client.is_busy(), 180, "frame 6")
    settle(app, 0.5)
    out.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(out / "sequence.png"))
    s.doc.mark_clean()
    win.close()
    print(f"wrote {out / 'sequence.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--checkpoint", help="a SAM 2.1 checkpoint to propagate with")
    args = parser.parse_args()
    xvfb = start_xvfb()
    try:
        shoot(args.out, args.checkpoint)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
