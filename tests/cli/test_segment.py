"""`annotator segment` end to end with the bundled LiteMedSAM model, the detections reader,
and the output checks made before any inference."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from annotator.cli.segment import load_detections
from annotator.io.coco_store import load_project

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


BOXES = {
    "astronaut.jpg": [[150, 15, 160, 180, 1]],  # the astronaut's head and helmet
    "coffee.jpg": [[120, 20, 420, 330, 2], [0, 0, 130, 150, 3]],
}


def _overlap(a: list[float], b: list[float]) -> float:
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    iw = max(0.0, min(ax0 + aw, bx0 + bw) - max(ax0, bx0))
    ih = max(0.0, min(ay0 + ah, by0 + bh) - max(ay0, by0))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def test_segment_results_list_with_the_bundled_model(tmp_path, run):
    dets = [
        {"image_id": name, "category_id": cat, "bbox": box[:4], "score": 0.5 + 0.1 * i}
        for name, boxes in BOXES.items()
        for i, (*box, cat) in enumerate(boxes)
    ]
    dets.append({"image_id": "missing.jpg", "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1})
    boxes_path = tmp_path / "dets.json"
    boxes_path.write_text(json.dumps(dets))
    out = tmp_path / "masks.json"
    code, err = run(
        ["segment", str(SAMPLE), "--boxes", str(boxes_path), "-o", str(out), "--device", "cpu"],
    )
    assert code == 1 and "missing.jpg" in err  # reported, the rest still segmented
    doc = load_project(out, images_root=SAMPLE)  # outside out's folder: named explicitly
    anns = doc.annotations()
    assert len(anns) == 3
    for ann in anns:
        file_name = doc.image(ann.image_id).file_name
        match = [b for b in BOXES[file_name] if b[4] == ann.category_id]
        assert len(match) == 1
        assert _overlap(list(ann.bbox), match[0][:4]) > 0.3
        assert ann.provenance["box"][0] == pytest.approx(match[0][0])
        assert 0.5 <= ann.provenance["score"] <= 0.7


def test_segment_coco_file_with_bbox_only_annotations(tmp_path, run):
    coco = {
        "images": [{"id": 7, "file_name": "astronaut.jpg", "width": 512, "height": 512}],
        "categories": [{"id": 4, "name": "astronaut"}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 4, "bbox": [150, 15, 160, 180]}],
    }
    boxes_path = tmp_path / "gt.json"
    boxes_path.write_text(json.dumps(coco))
    out = tmp_path / "masks.json"
    code, _ = run(["segment", str(SAMPLE), "--boxes", str(boxes_path), "-o", str(out)])
    assert code == 0
    doc = load_project(out, images_root=SAMPLE)  # outside out's folder: named explicitly
    (ann,) = doc.annotations()
    assert doc.category(ann.category_id).name == "astronaut"
    assert _overlap(list(ann.bbox), [150, 15, 160, 180]) > 0.3


def test_segment_bad_detections_file_names_it(tmp_path, run):
    bad = tmp_path / "dets.json"
    bad.write_text('[{"image_id": "astronaut.jpg", "bbox": [1, 2]}]')
    code, err = run(["segment", str(SAMPLE), "--boxes", str(bad), "-o", str(tmp_path / "o.json")],
                    )  # fmt: skip
    assert code == 2 and str(bad) in err and "bbox" in err


def test_sample_detections_file_matches_the_sample_photos():
    """The README's `annotator segment` example input: every box maps to a sample photo."""
    files = sorted(p.name for p in SAMPLE.glob("*.jpg"))
    by_file, categories, unmatched = load_detections(SAMPLE / "detections.json", None, files)
    assert unmatched == []
    assert sorted(by_file) == files
    assert sum(len(d) for d in by_file.values()) == 9
    assert {"person", "cup", "cat", "rocket"} <= set(categories.values())


def test_results_list_matched_through_images_json_and_numeric_stems(tmp_path):
    files = ["000000000042.jpg", "b.jpg"]
    dets = [
        {"image_id": 42, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
        {"image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.9},
    ]
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    by_file, _, unmatched = load_detections(path, None, files)
    assert list(by_file) == ["000000000042.jpg"] and unmatched == ["7"]
    images = tmp_path / "images.json"
    images.write_text(json.dumps({"images": [{"id": 7, "file_name": "b.jpg"}],
                                  "categories": [{"id": 1, "name": "thing"}]}))  # fmt: skip
    by_file, categories, unmatched = load_detections(path, images, files)
    assert list(by_file) == ["b.jpg"] and unmatched == ["42"] and categories == {1: "thing"}


def _detections(tmp_path: Path) -> Path:
    boxes_path = tmp_path / "dets.json"
    boxes_path.write_text(json.dumps([{"image_id": "astronaut.jpg", "category_id": 1,
                                       "bbox": [150, 15, 160, 180], "score": 0.9}]))  # fmt: skip
    return boxes_path


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if the command gets as far as loading the model."""

    def refuse(args):
        raise AssertionError("the output must be checked before the model is loaded")

    monkeypatch.setattr("annotator.cli.segment.load_predictor", refuse)


def test_segment_refuses_an_existing_output_without_force(tmp_path, run, no_model):
    """Issue 10 item 14: a re-run replaced the user's project (4 annotations became 1)."""
    out = tmp_path / "masks.json"
    out.write_text("my precious work")
    code, err = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)), "-o", str(out)])
    assert code == 2 and "was not written by `annotator segment`" in err and str(out) in err
    assert "pass --force" in err
    assert out.read_text() == "my precious work"
    assert not (tmp_path / "masks.json.bak").exists()


def test_segment_force_replaces_the_output_and_keeps_a_backup(tmp_path, run):
    out = tmp_path / "masks.json"
    out.write_text("my precious work")
    argv = ["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)), "-o", str(out)]
    code, _ = run([*argv, "--force", "--device", "cpu"])
    assert code == 0
    assert len(load_project(out, images_root=SAMPLE).annotations()) == 1
    assert (tmp_path / "masks.json.bak").read_text() == "my precious work"


def test_segment_refuses_a_folder_as_output(tmp_path, run, no_model):
    code, err = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)),
                     "-o", str(tmp_path), "--force"])  # fmt: skip
    assert code == 2 and "--output must be a project JSON file" in err


def test_segment_checks_the_output_folder_before_inference(tmp_path, run, no_model):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    out = blocker / "masks.json"
    code, err = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)), "-o", str(out)])
    assert code == 2 and "not writable" in err and str(blocker) in err


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_segment_refuses_a_read_only_output_folder_before_inference(tmp_path, run, no_model):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        out = folder / "masks.json"
        code, err = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)),
                         "-o", str(out)])  # fmt: skip
        assert code == 2 and "not writable" in err and str(folder) in err
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


def test_segment_refuses_a_folder_it_may_not_write_before_inference(
    tmp_path, run, no_model, monkeypatch
):
    """What a read-only folder does for a user who is not root (the test may run as root)."""

    def denied(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("annotator.cli.output_checks.tempfile.mkstemp", denied)
    out = tmp_path / "masks.json"
    code, err = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)), "-o", str(out)])
    assert code == 2 and "not writable (Permission denied)" in err and not out.exists()


def test_segment_creates_a_missing_output_folder(tmp_path, run):
    out = tmp_path / "new" / "sub" / "masks.json"
    code, _ = run(["segment", str(SAMPLE), "--boxes", str(_detections(tmp_path)), "-o", str(out),
                   "--device", "cpu"])  # fmt: skip
    assert code == 0 and len(load_project(out, images_root=SAMPLE).annotations()) == 1


def _all_boxes(tmp_path: Path) -> Path:
    dets = [
        {"image_id": name, "category_id": cat, "bbox": box[:4], "score": 0.9}
        for name, boxes in {**BOXES, "chelsea.jpg": [[10, 10, 200, 200, 1]]}.items()
        for *box, cat in boxes
    ]
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    return path


@pytest.fixture
def tiny_segment(monkeypatch):
    """The seeded tiny model instead of LiteMedSAM: these tests are about the command."""
    from tests.cli import ray_support

    monkeypatch.setattr("annotator.cli.segment.load_predictor", ray_support.tiny_predictor)


def test_an_interrupted_run_keeps_finished_images_and_the_next_run_continues(
    tmp_path, run, monkeypatch, tiny_segment
):
    from annotator.engine import box_batch
    from tests.cli.ray_support import project_without_times

    boxes = _all_boxes(tmp_path)
    reference = tmp_path / "reference.json"
    argv = ["segment", str(SAMPLE), "--boxes", str(boxes), "--device", "cpu", "-o"]
    assert run([*argv, str(reference)])[0] == 0

    real = box_batch.predict_boxes
    calls: list[int] = []

    def predict_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(box_batch, "predict_boxes", predict_then_interrupt)
    out = tmp_path / "masks.json"
    code, err = run([*argv, str(out)])
    assert code == 130 and "run again to continue" in err
    assert len(load_project(out, images_root=SAMPLE).images()) == 1  # the finished one, saved
    parts = sorted(out.with_name("masks.json.parts").glob("*.json"))
    assert len(parts) == 1 and json.loads(parts[0].read_text())["annotations"]
    monkeypatch.setattr(box_batch, "predict_boxes", real)
    code, err = run([*argv, str(out)])
    assert code == 0 and "1 of 3 images already done" in err
    assert "masks from 3 boxes in 2 images, 1 skipped as done" in err
    assert project_without_times(out) == project_without_times(reference)


def test_other_detections_redo_the_images_instead_of_reusing_them(tmp_path, run, tiny_segment):
    boxes = _all_boxes(tmp_path)
    out = tmp_path / "masks.json"
    argv = ["segment", str(SAMPLE), "--boxes", str(boxes), "--device", "cpu", "-o", str(out)]
    assert run(argv)[0] == 0
    code, err = run(argv)  # the same again: nothing to do, the project rebuilt as it was
    assert code == 0 and "3 of 3 images already done" in err
    assert len(load_project(out, images_root=SAMPLE).annotations()) > 0
    code, err = run([*argv, "--min-score", "0.95"])  # every box is now skipped
    assert code == 0 and "already done" not in err and "0 masks from 0 boxes" in err
    assert load_project(out, images_root=SAMPLE).annotations() == []


@pytest.mark.slow
def test_a_killed_run_leaves_only_whole_images_and_the_next_run_finishes_them(
    tmp_path, run, tiny_segment
):
    """SIGKILL mid-run (a fresh process, the tiny model made slow): every part on disk is a
    whole image, and the next run does only the rest."""
    import signal
    import subprocess
    import sys
    import time

    import torch

    from annotator.io.masks import decode_mask
    from tests.cli.ray_support import ROOT, project_without_times, worker_env

    boxes = _all_boxes(tmp_path)
    reference = tmp_path / "reference.json"
    argv = ["segment", str(SAMPLE), "--boxes", str(boxes), "-o"]
    assert run([*argv, str(reference)])[0] == 0
    out = tmp_path / "masks.json"
    command = [sys.executable, "-m", "tests.cli.ray_support", "slow_predictor", *argv, str(out)]
    threads = str(torch.get_num_threads())  # the same float sums as the run below
    env = {**os.environ, **worker_env(), "OMP_NUM_THREADS": threads}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    parts = out.with_name("masks.json.parts")
    deadline = time.monotonic() + 300
    while not list(parts.glob("*.json")):
        assert proc.poll() is None and time.monotonic() < deadline, "segment ended too soon"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = [json.loads(p.read_text()) for p in parts.glob("*.json")]
    assert 1 <= len(finished) < 3 and not out.exists()  # killed before it assembled
    for part in finished:
        for ann in part["annotations"]:
            assert decode_mask(ann["segmentation"]).shape == (part["height"], part["width"])
    code, err = run([*argv, str(out)])
    assert code == 0 and f"{len(finished)} of 3 images already done" in err
    assert project_without_times(out) == project_without_times(reference)
