"""Project store scale benchmark: 10,000 RLE annotations on 1,000 images, save and load <= 1 s;
and a sequence project: 5,000 frames of a 1280x720 video with 2 tracked objects each, <= 2 s.

Usage: python benchmarks/store.py [--images 1000] [--per-image 10] [--frames 5000]
       [--objects 2] [--only images|sequence] [--runs 5] [--json OUT]

Prints a table per project and a JSON object with median seconds. References measured in the
same run: plain ``json.dumps``+write / ``json.load`` of the same COCO dict (the floor any JSON store
pays) and ``pycocotools.coco.COCO(path)`` (what training code pays to open the file). The
save figure includes serialising, fsync, the .bak hard link and the concurrent-writer check; the
load figure includes full validation and building the Document.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from pycocotools.coco import COCO

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from annotator.io.coco_store import load_project, save_project, serialize_project
from annotator.io.document import Document
from annotator.io.masks import encode_mask
from annotator.io.sequence import video_frame_name
from annotator.io.validation import validate_project

WIDTH, HEIGHT = 1024, 768
TARGET_S = 1.0
VIDEO_SIZE = (1280, 720)
SEQUENCE_TARGET_S = 2.0


def _blob_masks(
    count: int, rng: np.random.Generator, size: tuple[int, int] = (WIDTH, HEIGHT)
) -> list[dict]:
    """RLEs of irregular objects (unions of ellipses with a jagged polygon), SAM-mask-like."""
    rles = []
    width, height = size
    for _ in range(count):
        mask = np.zeros((height, width), np.uint8)
        cx, cy = rng.integers(100, width - 100), rng.integers(100, height - 100)
        for _ in range(3):
            axes = (int(rng.integers(15, 90)), int(rng.integers(15, 90)))
            center = (int(cx + rng.integers(-50, 50)), int(cy + rng.integers(-50, 50)))
            cv2.ellipse(mask, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 40))
        radii = rng.uniform(20, 110, 40)
        poly = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [poly.astype(np.int32)], 1)
        rles.append(encode_mask(mask.astype(bool)))
    return rles


def build_document(images: int, per_image: int, root: Path) -> Document:
    rng = np.random.default_rng(0)
    shapes = _blob_masks(200, rng)
    doc = Document(root)
    for i in range(images):
        image_id = doc.add_image(f"images/img_{i:05d}.jpg", WIDTH, HEIGHT)
        for _ in range(per_image):
            doc.add_annotation(
                image_id, 1, shapes[int(rng.integers(len(shapes)))],
                predicted_iou=float(rng.uniform(0.7, 1.0)),
                stability_score=float(rng.uniform(0.8, 1.0)),
                point_coords=[[float(rng.uniform(0, WIDTH)), float(rng.uniform(0, HEIGHT))]],
                point_labels=[1], model="vit_b",
            )  # fmt: skip
    return doc


def build_sequence(frames: int, objects: int, root: Path) -> Document:
    """A video's frames (video, frame_index) with `objects` tracked masks each (track_id)."""
    rng = np.random.default_rng(1)
    shapes = _blob_masks(100, rng, VIDEO_SIZE)
    doc = Document(root)
    for i in range(frames):
        name = video_frame_name("clip.mp4", i)
        image_id = doc.add_image(name, *VIDEO_SIZE, video="clip.mp4", frame_index=i)
        for track in range(1, objects + 1):
            doc.add_annotation(
                image_id, 1, shapes[(i + 37 * track) % len(shapes)], track_id=track,
                predicted_iou=float(rng.uniform(0.7, 1.0)), model="sam2.1_hiera_t",
            )  # fmt: skip
    return doc


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def measure(doc: Document, folder: Path, runs: int) -> dict[str, tuple[float, list[float]]]:
    """Median (and all) seconds of each step on `doc`, with the same-run references."""
    path = folder / "project.json"
    save_project(doc, path)  # warm-up, and the file the loads read
    data = doc.to_coco()
    plain = folder / "plain.json"

    def plain_save() -> None:
        with open(plain, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data))

    def plain_load() -> None:
        with open(path, encoding="utf-8") as handle:
            json.load(handle)

    def coco_load() -> None:
        with contextlib.redirect_stdout(io.StringIO()):
            COCO(str(path))

    rows = {}
    rows["save_project"] = median_time(lambda: save_project(doc), runs)
    rows["load_project"] = median_time(lambda: load_project(path), runs)
    rows["  serialize (part of save)"] = median_time(lambda: serialize_project(doc, path), runs)
    parsed = json.loads(path.read_text(encoding="utf-8"))
    rows["  validate (part of load)"] = median_time(lambda: validate_project(parsed, folder), runs)
    rows["ref: json.dumps + write"] = median_time(plain_save, runs)
    rows["ref: json.load"] = median_time(plain_load, runs)
    rows["ref: pycocotools COCO(path)"] = median_time(coco_load, runs)
    loaded = load_project(path)
    assert loaded.to_coco() == data
    return rows


def report(name: str, doc: Document, folder: Path, runs: int, target: float) -> dict:
    """Measure one project, print its table and verdict; returns its JSON entry."""
    path = folder / "project.json"
    rows = measure(doc, folder, runs)
    size_mb = path.stat().st_size / 1e6
    images = doc.images()
    save_s, load_s = rows["save_project"][0], rows["load_project"][0]
    result = {
        "images": len(images),
        "annotations": len(doc.annotations()),
        "image_size": [images[0].width, images[0].height],
        "file_mb": round(size_mb, 2),
        "median_s": {step.strip(): round(t[0], 4) for step, t in rows.items()},
        "ratio_save_vs_json_dump": round(save_s / rows["ref: json.dumps + write"][0], 2),
        "ratio_load_vs_json_load": round(load_s / rows["ref: json.load"][0], 2),
        "ratio_load_vs_pycocotools": round(load_s / rows["ref: pycocotools COCO(path)"][0], 2),
        "target_s": target,
        "save_ok": save_s <= target,
        "load_ok": load_s <= target,
    }
    print(f"{name}: {result['annotations']} annotations on {len(images)} images "
          f"({images[0].width}x{images[0].height}), file {size_mb:.1f} MB, "
          f"median of {runs} runs")  # fmt: skip
    print(f"{'step':<32}{'median s':>10}{'min s':>10}{'max s':>10}")
    for step, (median, times) in rows.items():
        print(f"{step:<32}{median:>10.3f}{min(times):>10.3f}{max(times):>10.3f}")
    verdict = "OK" if result["save_ok"] and result["load_ok"] else "OVER TARGET"
    print(f"save {save_s:.3f} s, load {load_s:.3f} s (target <= {target:.1f} s each): {verdict}\n")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--per-image", type=int, default=10)
    parser.add_argument("--frames", type=int, default=5000, help="frames of the sequence project")
    parser.add_argument("--objects", type=int, default=2, help="tracked objects per frame")
    parser.add_argument("--only", choices=("images", "sequence"), help="measure one project")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    args = parser.parse_args(argv)

    result: dict = {"benchmark": "store", "runs": args.runs}
    with tempfile.TemporaryDirectory(prefix="annotator-bench-") as tmp:
        if args.only in (None, "images"):
            folder = Path(tmp) / "images"
            folder.mkdir()
            doc = build_document(args.images, args.per_image, folder)
            result["images_project"] = report("images", doc, folder, args.runs, TARGET_S)
        if args.only in (None, "sequence"):
            folder = Path(tmp) / "sequence"
            folder.mkdir()
            doc = build_sequence(args.frames, args.objects, folder)
            result["sequence_project"] = report(
                "sequence", doc, folder, args.runs, SEQUENCE_TARGET_S
            )
    result.update(python=platform.python_version(), cpu_count=os.cpu_count())
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    entries = [v for k, v in result.items() if k.endswith("_project")]
    return 0 if all(e["save_ok"] and e["load_ok"] for e in entries) else 1


if __name__ == "__main__":
    raise SystemExit(main())
