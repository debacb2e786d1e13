"""Generate the README screenshots: the main window (toolbar, annotations), the candidate
choice, polygon editing of an accepted mask, and the label pop-up.

Runs the real app (bundled LiteMedSAM, model worker thread) on a copy of sample_data/ under
Xvfb, drives it through the window's own slots, and saves docs/images/main_window.png,
candidates.png, polygon_editing.png and label_popup.png.

    python scripts/screenshots.py            # starts Xvfb itself when there is no display
    python scripts/screenshots.py --out DIR  # somewhere else
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (category, box XYXY in astronaut.jpg pixels): objects a box model segments well.
ASTRONAUT_BOXES = (
    ("helmet", (282, 340, 512, 512)),
    ("rocket", (352, 0, 455, 268)),
    ("flag", (0, 0, 105, 215)),
    ("patch", (135, 345, 212, 423)),
)
# an in-progress object: a box with a foreground point refining it
IN_PROGRESS = ("object", (160, 25, 305, 200), (230, 130))
# an ambiguous first click (a cup: the rim, the coffee or the whole cup?) for the candidate
# choice. The bundled LiteMedSAM was trained on boxes, so its candidates for a click are small;
# with a SAM checkpoint (--checkpoint mobile_sam) they are the usual part/whole choices.
CANDIDATE_CLICK = ("coffee.jpg", (200, 100))


def start_xvfb() -> subprocess.Popen | None:
    """Start Xvfb on a free display unless a display (or an explicit Qt platform) is set."""
    if os.environ.get("DISPLAY") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        sys.exit("Xvfb not found: install it (apt-get install xvfb) or set DISPLAY")
    for n in range(90, 110):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    proc = subprocess.Popen(
        [xvfb, f":{n}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    os.environ["DISPLAY"] = f":{n}"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    return proc


def wait_until(app, predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--checkpoint", help="model to use (default: the bundled LiteMedSAM)")
    parser.add_argument("--model-type", default="auto")
    args = parser.parse_args()
    xvfb = start_xvfb()
    try:
        return shoot(args.out, args.checkpoint, args.model_type)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(10)


def shoot(out: Path, checkpoint: str | None, model_type: str) -> int:
    from PySide6.QtWidgets import QApplication

    from annotator.gui.main_window import MainWindow
    from annotator.gui.model.client import ModelClient

    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="annotator-shots-"))
    os.environ["ANNOTATOR_SETTINGS"] = str(work / "settings.ini")  # not the user's settings
    for image in (ROOT / "sample_data").glob("*.jpg"):
        shutil.copy(image, work / image.name)
    client = ModelClient()
    win = MainWindow(client)
    win.resize(1400, 860)
    win.show()
    client.start()
    wait_until(app, lambda: win.session.model_name != "", 180, "the bundled model")
    if checkpoint is not None:
        loaded = win.session.model_name
        win.load_model(checkpoint, model_type)
        wait_until(app, lambda: win.session.model_name != loaded, 600, checkpoint)
    win.open_path(work / "astronaut.jpg")

    def ready() -> bool:
        return not win.session.editor.decoding and not client.is_busy()

    def shown() -> bool:
        return ready() and win.session.prompts.current_mask is not None

    for name, box in ASTRONAUT_BOXES:
        if win.session.doc.category_by_name(name) is None:
            win.session.add_category(name)
        win.session.set_category(win.session.doc.category_by_name(name).id)
        win.session.editor.set_box(box)
        wait_until(app, shown, 180, name)
        win.session.editor.accept()
    # one object in progress, to show the prompts: a box with a point refining it
    name, box, (px, py) = IN_PROGRESS
    win.session.set_category(win.session.doc.category_by_name(name).id)
    win.session.editor.set_box(box)
    wait_until(app, shown, 180, "box")
    win.session.editor.add_point(px, py, 1)
    wait_until(app, shown, 180, "refine")
    win.session.select(win.session.doc.annotations()[1].id)
    win.session.toggle_done()
    settle(app)
    win.grab().save(str(out / "main_window.png"))

    # polygon editing: the helmet reopened with the polygon tool (its vertices shown), one
    # vertex pulled out
    win.clear_prompts()
    helmet = win.session.doc.annotations()[0].id
    win.session.select(helmet)
    win.editing.brush("polygon")
    ring = max(win.tools["polygon"].rings, key=lambda r: len(r.points))
    ring.points[0] = ring.points[0] + (-25, -20)
    win.tools["polygon"]._finish()  # what releasing the dragged vertex does
    settle(app)
    win.grab().save(str(out / "polygon_editing.png"))
    win.accept()  # written back

    # the label pop-up after accepting a new mask, "fl" typed
    win.labels.set_enabled(True)
    win.set_tool("box")
    win.session.editor.set_box((110, 180, 250, 330))
    wait_until(app, shown, 180, "box for the pop-up")
    win.accept()
    win.labels.popup.edit.setText("fl")
    settle(app)
    win.grab().save(str(out / "label_popup.png"))
    win.labels.popup.hide()

    win.clear_prompts()
    name, (x, y) = CANDIDATE_CLICK
    win.files.show_image(name)
    wait_until(app, ready, 180, f"encoding {name}")
    win.set_tool("point")
    win.session.editor.add_point(x, y, 1)
    wait_until(app, shown, 180, "candidates")
    settle(app)
    win.grab().save(str(out / "candidates.png"))
    win.session.doc.mark_clean()  # a throwaway copy: do not ask to save
    win.close()
    client.shutdown()
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote main_window, candidates, polygon_editing and label_popup .png to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
