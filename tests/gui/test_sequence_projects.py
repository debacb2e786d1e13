"""A video opened as a sequence (`annotator gui clip.avi` does this) in the window: the frames
are the image list in frame order, D goes to the next frame, and a saved frame keeps its
video / frame_index keys and the track ids of the masks on it."""

from __future__ import annotations

import json

import cv2
import numpy as np
from PySide6.QtCore import Qt

from annotator.cli.gui import open_sequence
from tests.gui.fakes.gestures import click, wait_result

H, W = 240, 320


def test_a_video_sequence_in_the_window(qtbot, make_window, tmp_path):
    (tmp_path / "videos").mkdir()  # tmp_path itself holds the fixture's photos
    video = tmp_path / "videos" / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(3):
        image = np.full((H, W, 3), 40, np.uint8)
        image[60:120, 40 + 30 * i : 120 + 30 * i] = 220
        writer.write(image)
    writer.release()
    project = open_sequence(video)
    win, _client = make_window(project)
    names = [win.image_list.list.item(i).text() for i in range(win.image_list.list.count())]
    assert [n.split()[-1] for n in names] == [f"walk/{i:05d}.jpg" for i in range(3)]
    qtbot.keyClick(win.canvas, Qt.Key.Key_D)
    assert win.session.current == "walk/00001.jpg"
    click(qtbot, win, 160, 100)
    wait_result(qtbot, win)
    qtbot.keyClick(win.canvas, Qt.Key.Key_Return)
    ann = win.session.doc.annotations_for(win.session.image_id)[0]
    win.session.doc.replace_annotation(ann.id, track_id=3)  # what a propagation records
    qtbot.keyClick(win.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = json.loads(project.read_text(encoding="utf-8"))
    frame = next(im for im in saved["images"] if im["file_name"] == "walk/00001.jpg")
    assert frame["video"] == "walk.avi" and frame["frame_index"] == 1
    assert [a["track_id"] for a in saved["annotations"]] == [3]
