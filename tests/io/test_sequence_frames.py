"""A frame folder or a video file as a new sequence project, and each frame's pixels back."""

import cv2
import numpy as np
import pytest

from annotator.io.coco_store import load_project, save_project
from annotator.io.frames import FrameSourceError
from annotator.io.sequence_frames import FramePixels, sequence_document

H, W = 48, 64


def _frame(i: int) -> np.ndarray:
    """Smooth RGB frames (JPEG-friendly) that differ per index."""
    y, x = np.mgrid[:H, :W]
    return np.stack([(x * 3 + 20 * i) % 256, y * 4, np.full((H, W), 30 * i)], -1).astype(np.uint8)


def test_a_frame_folder_becomes_a_project_of_frames(tmp_path):
    folder = tmp_path / "cells"
    folder.mkdir()
    for i in (0, 1, 2, 10):  # natural order: t10 after t2
        cv2.imwrite(str(folder / f"t{i}.png"), cv2.cvtColor(_frame(i), cv2.COLOR_RGB2BGR))
    doc, source = sequence_document(folder, categories=["cell"])
    assert len(source) == 4 and not doc.dirty and doc.images_root == folder.resolve()
    assert [(im.file_name, im.extra) for im in doc.images()] == [
        (name, {"video": "cells", "frame_index": i})
        for i, name in enumerate(["t0.png", "t1.png", "t2.png", "t10.png"])
    ]
    loaded = load_project(save_project(doc, tmp_path / "cells.json"))
    pixels = FramePixels(loaded.images_root)
    np.testing.assert_array_equal(pixels.read(loaded.to_coco()["images"][3]), _frame(10))


def test_a_video_file_becomes_frames_decoded_from_it(tmp_path):
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(3):
        writer.write(cv2.cvtColor(_frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    doc, _ = sequence_document(video)
    coco = doc.to_coco()
    assert [im["file_name"] for im in coco["images"]] == ["walk/00000.jpg", "walk/00001.jpg",
                                                          "walk/00002.jpg"]  # fmt: skip
    assert doc.images_root == tmp_path.resolve()
    pixels = FramePixels(doc.images_root)
    for i, image in enumerate(coco["images"]):
        assert pixels.missing(image) is None
        assert np.abs(pixels.read(image).astype(int) - _frame(i)).mean() < 4  # MJPG-coded
    wrong = dict(coco["images"][1], width=W + 1)
    with pytest.raises(ValueError, match="the project says 65x48"):
        pixels.read(wrong)
    pixels.close()
    gone = dict(coco["images"][0], video="other.avi")
    assert "neither the frame's file nor its video 'other.avi'" in pixels.missing(gone)


def test_not_a_sequence_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FrameSourceError, match="not a frame folder or a video file"):
        sequence_document(tmp_path / "notes.txt")
