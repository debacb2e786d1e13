"""`annotator track` on tiny synthetic sequences with a random-weight SAM 2.1 Hiera-T checkpoint
(saved under its official name and read by the real loader). Most tests run the network on
128-pixel inputs (`Sam2.set_image_size`) to stay fast; the full-size run is marked slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from annotator.cli import main
from annotator.cli.track_job import plan_passes
from annotator.io.coco_store import load_project, save_project
from annotator.io.document import Document
from annotator.io.masks import decode_mask
from tests.cli.track_support import FRAMES, H, W, corner, frame, save_checkpoint, square, write_clip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    """Seeded random SAM 2.1 Hiera-T weights, every parameter perturbed, as Meta ships them."""
    return save_checkpoint(tmp_path_factory.mktemp("ckpt"))


_LOADED: dict[tuple, torch.nn.Module] = {}


@pytest.fixture
def small_inputs(monkeypatch):
    """The real loader (once per checkpoint and options: the network holds no state between
    runs), then 128-pixel network inputs (16x16 features) for speed."""
    import annotator.engine as engine

    real = engine.load_model

    def load(checkpoint, **kwargs):
        key = (str(checkpoint), *sorted(kwargs.items()))
        if key not in _LOADED:
            _LOADED[key] = real(checkpoint, **kwargs)
            _LOADED[key].set_image_size(128)
        return _LOADED[key]

    monkeypatch.setattr(engine, "load_model", load)


@pytest.fixture
def clip(tmp_path) -> Path:
    return write_clip(tmp_path / "clip")


def prompts_file(path: Path, root: Path, key: int = 0, frame_key: bool = False) -> Path:
    """A project as `annotator segment FOLDER` writes it: one image (by file name, or with
    frame_index), the square as track 4 and the corner without a track id."""
    doc = Document(root, categories=["square", "corner"])
    extra = {"video": "clip", "frame_index": key} if frame_key else {}
    image = doc.add_image(f"{key:05d}.png", W, H, **extra)
    doc.add_annotation(image, 1, square(key), track_id=4)
    doc.add_annotation(image, 2, corner())
    return save_project(doc, path)


def track(*argv: str, checkpoint: Path) -> int:
    return main(["track", *argv, "--checkpoint", str(checkpoint), "--device", "cpu",
                 "--dtype", "float32"])  # fmt: skip


def parts_of(out: Path) -> dict[int, dict]:
    folder = out.with_name(out.name + ".parts")
    return {int(p.stem): json.loads(p.read_text()) for p in folder.glob("[0-9]*.json")}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_plan_passes_visit_frames_as_the_engine_does():
    assert plan_passes(6, 2, None, False, False) == [(False, [2, 3, 4, 5])]
    assert plan_passes(6, 2, None, True, False) == [(True, [2, 1, 0])]
    assert plan_passes(6, 2, 1, False, True) == [(False, [2, 3]), (True, [2, 1])]
    assert plan_passes(6, 0, 0, True, False) == [(True, [0])]


def test_track_a_frame_folder_writes_every_frame_and_object(
    clip, tmp_path, checkpoint, small_inputs, capsys
):
    prompts = prompts_file(tmp_path / "prompts.json", clip)
    out = tmp_path / "out.json"
    assert track(str(clip), "--prompts", str(prompts), "--output", str(out),
                 checkpoint=checkpoint) == 0  # fmt: skip
    assert f"2 objects tracked over {FRAMES} frames -> {out}" in capsys.readouterr().err
    doc = load_project(out)
    assert doc.images_root == clip
    images = doc.images()
    assert [im.file_name for im in images] == [f"{i:05d}.png" for i in range(FRAMES)]
    assert [im.extra for im in images] == [{"video": "clip", "frame_index": i} for i in range(4)]
    assert [c.name for c in doc.categories()] == ["square", "corner"]
    first = {a.provenance["track_id"]: a for a in doc.annotations_for(images[0].id)}
    assert sorted(first) == [4, 5]  # the corner had no track id: the next free one
    assert iou(first[4].mask, square(0)) > 0.9 and first[4].category_id == 1
    assert iou(first[5].mask, corner()) > 0.9 and first[5].category_id == 2
    for ann in doc.annotations():
        assert ann.provenance["propagated"] is True and ann.provenance["model"]
    parts = parts_of(out)
    assert sorted(parts) == list(range(FRAMES))
    for part in parts.values():  # every object on every frame: a mask, or null where absent
        assert sorted(part["objects"]) == ["4", "5"]
    # Fix frame 2 by hand (the square, track 4), then propagate again from frames 0 and 2.
    frame2 = doc.image_by_frame("clip", 2)
    fixed = {a.provenance["track_id"]: a.id for a in doc.annotations_for(frame2.id)}
    if 4 in fixed:
        doc.replace_annotation(fixed[4], mask=square(2))
    else:
        doc.add_annotation(frame2.id, 1, square(2), track_id=4)
    save_project(doc)
    again = tmp_path / "again.json"
    assert track(str(clip), "--prompts", str(out), "--output", str(again), "--key-frames", "0,2",
                 checkpoint=checkpoint) == 0  # fmt: skip
    redone = load_project(again)
    masks = {a.provenance["track_id"]: a.mask
             for a in redone.annotations_for(redone.image_by_frame("clip", 2).id)}  # fmt: skip
    assert iou(masks[4], square(2)) > 0.9  # the fixed frame steers the new propagation
    export = tmp_path / "davis"
    assert main(["export", str(again), "--format", "davis", "--output", str(export)]) == 0
    with Image.open(export / "Annotations" / "clip" / "00000.png") as png:
        label = np.array(png)
    assert iou(label == 4, square(0)) > 0.9 and iou(label == 5, corner()) > 0.9
    assert len(list((export / "Annotations" / "clip").iterdir())) == FRAMES


def test_an_interrupted_run_continues_where_it_stopped(
    clip, tmp_path, checkpoint, small_inputs, monkeypatch, capsys
):
    from annotator.cli.track_output import TrackParts

    prompts = prompts_file(tmp_path / "prompts.json", clip)
    out = tmp_path / "out.json"
    write = TrackParts.write

    def write_then_stop(self, frame_index, *args):
        if frame_index == 2:
            raise KeyboardInterrupt
        write(self, frame_index, *args)

    monkeypatch.setattr(TrackParts, "write", write_then_stop)
    argv = [str(clip), "--prompts", str(prompts), "--output", str(out)]
    assert track(*argv, checkpoint=checkpoint) == 130
    assert "finished frames are saved" in capsys.readouterr().err
    assert [im.extra["frame_index"] for im in load_project(out).images()] == [0, 1]
    folder = out.with_name(out.name + ".parts")
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("0*.json")}
    monkeypatch.setattr(TrackParts, "write", write)
    assert track(*argv, checkpoint=checkpoint) == 0
    assert "2 frames already done, continuing" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("00000[01].json")} == stamps
    assert [im.extra["frame_index"] for im in load_project(out).images()] == [0, 1, 2, 3]
    assert track(*argv, checkpoint=checkpoint) == 0  # nothing left: no model loaded
    assert f"all {FRAMES} frames were already tracked" in capsys.readouterr().err
    assert track(*argv, "--reverse", checkpoint=checkpoint) == 2  # other settings
    assert "--restart" in capsys.readouterr().err


@pytest.mark.slow
def test_both_directions_from_a_middle_key_frame(clip, tmp_path, checkpoint, small_inputs):
    prompts = prompts_file(tmp_path / "prompts.json", clip, key=2, frame_key=True)
    out = tmp_path / "out.json"
    argv = [str(clip), "--prompts", str(prompts), "--output", str(out)]
    assert track(*argv, "--both", checkpoint=checkpoint) == 0
    assert [im.extra["frame_index"] for im in load_project(out).images()] == [0, 1, 2, 3]
    assert track(*argv, "--reverse", "--max-frames", "1", "--restart",
                 checkpoint=checkpoint) == 0  # fmt: skip
    doc = load_project(out)
    assert [im.extra["frame_index"] for im in doc.images()] == [1, 2]
    key = doc.image_by_frame("clip", 2)
    masks = {a.provenance["track_id"]: a.mask for a in doc.annotations_for(key.id)}
    assert iou(masks[4], square(2)) > 0.9


def test_box_prompts_on_a_video_file(tmp_path, checkpoint, small_inputs):
    video = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (W, H))
    for i in range(3):
        writer.write(cv2.cvtColor(frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    boxes = {"images": [{"id": 1, "file_name": "key.jpg", "width": W, "height": H,
                         "frame_index": 0, "video": "walk.avi"}],
             "categories": [{"id": 1, "name": "square"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                              "bbox": [10, 30, 30, 30], "track_id": 9}]}  # fmt: skip
    prompts = tmp_path / "boxes.json"
    prompts.write_text(json.dumps(boxes))
    out = tmp_path / "out.json"
    assert track(str(video), "--prompts", str(prompts), "--output", str(out),
                 checkpoint=checkpoint) == 0  # fmt: skip
    doc = load_project(out)
    assert doc.images_root == tmp_path
    assert [(im.file_name, im.extra["video"]) for im in doc.images()] == [
        (f"walk/{i:05d}.jpg", "walk.avi") for i in range(3)
    ]
    assert {a.provenance["track_id"] for a in doc.annotations()} <= {9}
    assert sorted(parts_of(out)[0]["objects"]) == ["9"]
    export = tmp_path / "mot"
    assert main(["export", str(out), "--format", "mot", "--output", str(export),
                 "--copy-images"]) == 0  # fmt: skip
    decoded = cv2.imread(str(export / "walk" / "img1" / "000002.jpg"))
    assert decoded.shape == (H, W, 3)  # decoded from the video: the frame had no file


def test_key_frames_are_the_hand_made_ones_unless_asked(tmp_path):
    from annotator.cli.track_prompts import read_prompts, select_key_frames

    doc = Document(tmp_path)
    for i in range(3):
        image = doc.add_image(f"{i:05d}.png", W, H, video="clip", frame_index=i)
        doc.add_annotation(image, 1, square(i), track_id=4, propagated=i != 1)
    path = save_project(doc, tmp_path / "tracked.json")
    names = [f"{i:05d}.png" for i in range(3)]
    prompts = read_prompts(path, names, "clip")
    assert prompts.key_frames == [0, 1, 2]
    assert select_key_frames(path, prompts, None).key_frames == [1]  # made by hand
    assert select_key_frames(path, prompts, [0, 2]).key_frames == [0, 2]
    with pytest.raises(ValueError, match=r"no annotation on the key frames \[7\]"):
        select_key_frames(path, prompts, [7])


def test_bad_prompts_and_outputs_are_refused_before_the_model_loads(clip, tmp_path, capsys):
    doc = Document(clip)
    image = doc.add_image("elsewhere.png", W, H)
    doc.add_annotation(image, 1, square(0))
    prompts = save_project(doc, tmp_path / "p.json")
    out = tmp_path / "out.json"
    assert main(["track", str(clip), "--prompts", str(prompts), "-o", str(out)]) == 2
    assert "'elsewhere.png' is not a frame of the input" in capsys.readouterr().err
    good = prompts_file(tmp_path / "good.json", clip)
    out.write_text("{}")  # someone else's file
    assert main(["track", str(clip), "--prompts", str(good), "-o", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err and out.read_text() == "{}"
    assert main(["track", str(tmp_path / "nope"), "--prompts", str(good), "-o", str(out)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    code = main(["track", str(clip), "--prompts", str(good), "-o", str(tmp_path / "o2.json"),
                 "--checkpoint", "lite_medsam", "--device", "cpu"])  # fmt: skip
    assert code == 2 and "tracking needs a SAM 2.1 checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_process_leaves_whole_frames_and_resumes_at_full_size(clip, tmp_path, checkpoint):
    """SIGKILL mid-run (1024-pixel inputs, the real thing): every part on disk is whole JSON,
    and the next run finishes the rest."""
    prompts = prompts_file(tmp_path / "prompts.json", clip)
    out = tmp_path / "out.json"
    argv = [sys.executable, "-m", "annotator", "track", str(clip), "--prompts", str(prompts),
            "-o", str(out), "--checkpoint", str(checkpoint), "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    folder = out.with_name(out.name + ".parts")
    deadline = time.monotonic() + 600
    while not len(list(folder.glob("0*.json"))) and time.monotonic() < deadline:
        assert proc.poll() is None, "track ended before it could be killed"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = parts_of(out)
    assert finished and all(sorted(p["objects"]) == ["4", "5"] for p in finished.values())
    for part in finished.values():
        for entry in part["objects"].values():
            if entry["rle"] is not None:
                assert decode_mask(entry["rle"]).shape == (H, W)
    assert main(argv[3:]) == 0
    assert [im.extra["frame_index"] for im in load_project(out).images()] == [0, 1, 2, 3]


def test_several_inputs_each_get_a_project_and_a_bad_one_does_not_stop_the_rest(
    clip, tmp_path, checkpoint, small_inputs, capsys
):
    prompts = prompts_file(tmp_path / "prompts.json", clip)
    out = tmp_path / "tracked"
    missing = tmp_path / "gone"
    assert track(str(clip), str(missing), "--prompts", str(prompts), "-o", str(out),
                 checkpoint=checkpoint) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "1 sequences tracked (4 frames), 1 failed" in err and f"{missing}: " in err
    doc = load_project(out / "clip.json", images_root=clip)  # outside its folder: named
    assert [im.extra["frame_index"] for im in doc.images()] == [0, 1, 2, 3]
    assert track(str(clip), str(clip), "--prompts", str(prompts), "-o", str(out),
                 checkpoint=checkpoint) == 2  # fmt: skip
    assert "would both be tracked into clip.json" in capsys.readouterr().err
