"""Frame sources: folders in natural order, videos decoded lazily with OpenCV, arrays; clear
errors for inputs that cannot be read."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from annotator.io.frames import (
    ArrayFrames,
    FolderFrames,
    FrameSourceError,
    VideoFrames,
    open_frames,
)


def _frame(i: int, h: int = 48, w: int = 64) -> np.ndarray:
    f = np.zeros((h, w, 3), np.uint8)
    f[:, :, 0] = 20 * i  # red encodes the index, robust to lossy codecs
    f[: 4 + 3 * i, :, 1] = 200
    return f


def _write_video(path, n: int, fourcc: str = "MJPG") -> None:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (64, 48))
    assert out.isOpened()
    for i in range(n):
        out.write(cv2.cvtColor(_frame(i), cv2.COLOR_RGB2BGR))
    out.release()


def test_folder_in_natural_order_skips_hidden_and_non_images(tmp_path):
    for i in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), cv2.cvtColor(_frame(i), cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".frame0.png").write_bytes(b"")
    src = open_frames(tmp_path)
    assert isinstance(src, FolderFrames)
    assert src.names == ["frame1.png", "frame2.png", "frame10.png"]
    assert len(src) == 3
    assert src[2].shape == (48, 64, 3) and src[2].dtype == np.uint8
    np.testing.assert_array_equal(src[2], _frame(10))
    np.testing.assert_array_equal(src[-1], src[2])


def test_video_frames_decode_lazily_in_order_and_by_seeking(tmp_path):
    path = tmp_path / "clip.avi"
    _write_video(path, 12)
    src = open_frames(path)
    assert isinstance(src, VideoFrames)
    assert len(src) == 12 and src.names[3] == "clip_000003"
    for i in (0, 1, 2, 11, 5, 5, 4):  # forward, a jump ahead, back
        red = float(src[i][..., 0].mean())
        assert abs(red - 20 * i) < 6, (i, red)
    src.close()
    assert abs(float(src[7][..., 0].mean()) - 140) < 6  # reopens after close


def test_array_frames_and_their_checks():
    arr = np.stack([_frame(i) for i in range(3)])
    src = open_frames(arr)
    assert isinstance(src, ArrayFrames) and len(src) == 3
    np.testing.assert_array_equal(src[1], arr[1])
    with pytest.raises(FrameSourceError, match="expected \\(N, H, W, 3\\)"):
        open_frames(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(FrameSourceError, match="float32"):
        open_frames(np.zeros((2, 4, 4, 3), np.float32))
    with pytest.raises(FrameSourceError, match="no frames"):
        open_frames([])
    with pytest.raises(IndexError, match="out of range"):
        src[3]


def test_unreadable_inputs_get_specific_errors(tmp_path):
    with pytest.raises(FrameSourceError, match="no such file or folder"):
        open_frames(tmp_path / "missing.mp4")
    with pytest.raises(FrameSourceError, match="holds no images"):
        open_frames(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FrameSourceError, match="not a frame folder or a video file"):
        open_frames(tmp_path / "notes.txt")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00not a video" * 10)
    with pytest.raises(FrameSourceError, match=r"broken\.mp4"):
        open_frames(bad)
    sub = tmp_path / "frames"
    sub.mkdir()
    (sub / "0.png").write_bytes(b"garbage")
    src = open_frames(sub)
    with pytest.raises(FrameSourceError, match=r"frame 0 \(0\.png\)"):
        src[0]
