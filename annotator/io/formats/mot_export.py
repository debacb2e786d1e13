"""MOTChallenge export: per video the boxes of every tracked object on every frame.

Layout (as MOT17/MOT20 and TrackEval read it): ``<video>/gt/gt.txt`` with one line per object
and frame, ``frame,id,x,y,w,h,conf,-1,-1,-1`` (frame 1-based: frame_index + 1; id the track_id;
x, y, w, h the mask's tight box in pixels, left/top as COCO's; conf 1), sorted by frame then
id; and ``<video>/seqinfo.ini`` (name, imDir, seqLength, imWidth, imHeight, imExt). Several
annotations of one track on one frame give one line, their boxes' union.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from annotator.atomic import atomic_write_bytes, atomic_write_text
from annotator.io.formats.common import Tally
from annotator.io.formats.tracks import Video, sequence_videos

GT_FILE = Path("gt") / "gt.txt"
SEQINFO_FILE = "seqinfo.ini"


def _union(a: list[float], b: list[float]) -> list[float]:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0]


def _number(value: float) -> str:
    """Pixels as MOT files write them: integers plain, fractions to 2 decimals."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def gt_lines(video: Video) -> list[str]:
    """The gt.txt lines of one video (see the module docstring)."""
    lines = []
    for frame in video.frames:
        boxes: dict[int, list[float]] = {}
        for object_id, ann in frame.objects:
            box = [float(v) for v in ann["bbox"]]
            boxes[object_id] = _union(boxes[object_id], box) if object_id in boxes else box
        for object_id in sorted(boxes):
            x, y, w, h = (_number(v) for v in boxes[object_id])
            lines.append(f"{frame.index + 1},{object_id},{x},{y},{w},{h},1,-1,-1,-1")
    return lines


def seqinfo(video: Video, image_ext: str = ".jpg") -> str:
    first = video.frames[0].image
    return (
        "[Sequence]\n"
        f"name={video.folder}\nimDir=img1\nseqLength={video.length}\n"
        f"imWidth={first['width']}\nimHeight={first['height']}\nimExt={image_ext}\n"
    )


def export_mot(coco: dict[str, Any], out: Path, *, frame_reader: Any = None) -> list[str]:
    """Writes gt/gt.txt and seqinfo.ini per video (and ``img1/<frame>.jpg``, MOT's 1-based
    6-digit names, when `frame_reader` is given: ``frame_reader(image dict) -> JPEG bytes``);
    returns warning lines."""
    tally = Tally()
    for video in sequence_videos(coco, "mot", tally):
        folder = out / video.folder
        (folder / GT_FILE).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / GT_FILE, "".join(line + "\n" for line in gt_lines(video)))
        atomic_write_text(folder / SEQINFO_FILE, seqinfo(video))
        if frame_reader is not None:
            (folder / "img1").mkdir(exist_ok=True)
            for frame in video.frames:
                target = folder / "img1" / f"{frame.index + 1:06d}.jpg"
                atomic_write_bytes(target, frame_reader(frame.image))
    return tally.lines()
