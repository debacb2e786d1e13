"""`annotator gui clip.mp4` and `annotator gui frames/ --sequence` open sequence projects."""

from __future__ import annotations

import cv2
import numpy as np

import annotator.gui.app as app_module
from annotator.cli import main
from annotator.io.coco_store import load_project, save_project

H, W = 40, 56


def _calls(monkeypatch) -> list:
    calls: list = []
    monkeypatch.setattr(app_module, "run_app", lambda *a: calls.append(a) or 0)
    return calls


def test_a_video_opens_as_frames_extracted_next_to_it(tmp_path, monkeypatch):
    calls = _calls(monkeypatch)
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(3):
        writer.write(np.full((H, W, 3), 70 * i, np.uint8))
    writer.release()
    assert main(["gui", str(video)]) == 0
    project = tmp_path / "walk.json"
    assert calls == [(str(project), None, "auto", "auto", "auto", None)]
    doc = load_project(project)
    assert [(im.file_name, im.extra) for im in doc.images()] == [
        (f"walk/{i:05d}.jpg", {"video": "walk.avi", "frame_index": i}) for i in range(3)
    ]
    frame = cv2.imread(str(tmp_path / "walk" / "00002.jpg"))
    assert frame.shape == (H, W, 3) and abs(float(frame.mean()) - 140) < 3
    doc.add_annotation(1, 1, np.ones((H, W), bool), track_id=1)
    save_project(doc)
    assert main(["gui", str(video)]) == 0  # the project exists: opened as it is
    assert len(load_project(project).annotations()) == 1


def test_a_frame_folder_opens_as_a_sequence_only_when_asked(tmp_path, monkeypatch):
    calls = _calls(monkeypatch)
    folder = tmp_path / "cells"
    folder.mkdir()
    for i in (1, 2, 10):
        cv2.imwrite(str(folder / f"t{i}.png"), np.full((H, W, 3), i, np.uint8))
    assert main(["gui", str(folder)]) == 0 and calls[-1][0] == str(folder)
    assert not (folder / "annotations.json").exists()
    assert main(["gui", str(folder), "--sequence"]) == 0
    assert calls[-1][0] == str(folder / "annotations.json")
    images = load_project(folder / "annotations.json").images()
    assert [(im.file_name, im.extra["frame_index"]) for im in images] == [
        ("t1.png", 0), ("t2.png", 1), ("t10.png", 2),
    ]  # fmt: skip


def test_a_missing_video_is_a_clear_error(tmp_path, monkeypatch, capsys):
    calls = _calls(monkeypatch)
    assert main(["gui", str(tmp_path / "nope.mp4")]) == 2
    assert "no such file" in capsys.readouterr().err and not calls
