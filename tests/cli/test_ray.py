"""`--ray` on `annotator amg` and `segment`, on a real local Ray instance with 2 CPUs: the
outputs are byte-identical to the local run's, resume works across both, a corrupt image is
reported, and a worker killed mid-run costs nothing. Without Ray installed, --ray says how to
get it (that test needs no Ray)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import cv2
import pytest

from tests.cli import ray_support
from tests.cli.ray_support import KILL_SWITCH, project_without_times, time_limit, tree_bytes

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
FAST = ["--points-per-side", "2", "--pred-iou-thresh", "0", "--stability-score-thresh", "0"]
LIMIT_S = 240  # per test, Ray start included; a hang fails instead of stalling CI


@pytest.fixture(scope="module")
def local_ray():
    """A real Ray instance in this process: 2 CPUs, a small object store, no dashboard. The
    commands use an already initialised Ray as is, so each --ray run below lands here."""
    ray = pytest.importorskip("ray")
    saved = {k: os.environ.get(k) for k in ray_support.worker_env()}
    os.environ.update(ray_support.worker_env())  # the workers inherit it
    with time_limit(LIMIT_S):
        ray.init(
            address="local",
            num_cpus=2,
            object_store_memory=150 * 2**20,
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    yield ray
    ray.shutdown()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def images(folder: Path) -> Path:
    """chelsea, coffee and broken.jpg (conftest's `folder`) plus astronaut and rocket."""
    for name in ("astronaut", "rocket"):
        image = cv2.imread(str(SAMPLE / f"{name}.jpg"))
        cv2.imwrite(str(folder / f"{name}.jpg"), cv2.resize(image, (120, 120)))
    return folder


@pytest.fixture
def one_thread():
    """The local reference runs with the actors' one torch thread (a Ray actor with one CPU
    gets OMP_NUM_THREADS=1): float sums over more threads round differently."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny(monkeypatch):
    """The tiny seeded model, as a loader Ray ships to its actors by name."""
    monkeypatch.setattr("annotator.cli.amg.load_predictor", ray_support.tiny_predictor)


def test_without_ray_installed_the_flag_says_how_to_install_it(folder, tmp_path, run, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code, err = run(["amg", str(folder), "-o", str(tmp_path / "out"), "--ray"])
    assert code == 2
    assert 'pip install "annotator[ray]"' in err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_amg_png_on_ray_is_byte_identical_and_resumes_across_local_and_ray(
    local_ray, images, tmp_path, run, tiny, one_thread
):
    with time_limit(LIMIT_S):
        local, on_ray = tmp_path / "local", tmp_path / "ray"
        code, _ = run(["amg", str(images), "-o", str(local), *FAST])
        assert code == 1
        code, err = run(["amg", str(images), "-o", str(on_ray), *FAST, "--ray", "--workers", "2"])
        assert code == 1  # the corrupt image, as locally
        assert "broken.jpg" in err and "failed images" in err
        assert "4 images segmented" in err
        reference = tree_bytes(local)
        assert len(reference) > 8
        assert tree_bytes(on_ray) == reference

        # A run killed after some images: those are kept, the rest done by the next run,
        # whichever way it runs.
        for name in ("coffee", "rocket"):
            for f in (on_ray / name).iterdir():
                f.unlink()
            (on_ray / name).rmdir()
        code, err = run(["amg", str(images), "-o", str(on_ray), *FAST])  # locally
        assert "2 of 5 images already done" in err and "2 images segmented" in err
        assert tree_bytes(on_ray) == reference
        for name in ("chelsea", "astronaut"):
            for f in (on_ray / name).iterdir():
                f.unlink()
            (on_ray / name).rmdir()
        code, err = run(["amg", str(images), "-o", str(on_ray), *FAST, "--ray"])
        assert "2 of 5 images already done" in err and "2 images segmented" in err
        assert tree_bytes(on_ray) == reference


@pytest.mark.slow
def test_amg_coco_project_on_ray_is_assembled_as_locally(
    local_ray, images, tmp_path, run, tiny, one_thread
):
    with time_limit(LIMIT_S):
        local, on_ray = tmp_path / "local.json", tmp_path / "ray.json"
        assert run(["amg", str(images), "-o", str(local), "--format", "coco", *FAST])[0] == 1
        argv = ["amg", str(images), "-o", str(on_ray), "--format", "coco", *FAST, "--ray"]
        assert run([*argv, "--workers", "2"])[0] == 1
        assert project_without_times(on_ray) == project_without_times(local)
        parts = [tree_bytes(Path(f"{out}.parts")) for out in (on_ray, local)]
        for each in parts:  # the hash of the project as written, times included
            each.pop("project.sha256")
        assert parts[0] == parts[1] and len(parts[0]) == 4  # one per image, byte for byte


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(
    local_ray, images, tmp_path, run, monkeypatch, one_thread
):
    (images / "broken.jpg").unlink()
    with time_limit(LIMIT_S):
        monkeypatch.setattr("annotator.cli.amg.load_predictor", ray_support.tiny_predictor)
        local = tmp_path / "local" / "auto.json"
        local.parent.mkdir()
        assert run(["amg", str(images), "-o", str(local), "--format", "coco", *FAST])[0] == 0

        monkeypatch.setattr("annotator.cli.amg.load_predictor", ray_support.kill_once_predictor)
        on_ray = tmp_path / "ray" / "auto.json"
        on_ray.parent.mkdir()
        (on_ray.parent / KILL_SWITCH).touch()
        argv = ["amg", str(images), "-o", str(on_ray), "--format", "coco", *FAST]
        code, err = run([*argv, "--ray", "--workers", "2"])
        assert not (on_ray.parent / KILL_SWITCH).exists()  # a worker did die
        assert code == 0, err
        assert "4 images segmented" in err and "0 failed" in err
        project = json.loads(on_ray.read_text())
        names = [image["file_name"] for image in project["images"]]
        assert sorted(names) == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
        assert project_without_times(on_ray) == project_without_times(local)


@pytest.mark.slow
def test_segment_on_ray_with_the_bundled_model_is_byte_identical(
    local_ray, tmp_path, run, one_thread
):
    """The actors load the bundled LiteMedSAM by itself (no --checkpoint): a model every node
    resolves from the installed package."""
    dets = [
        {"image_id": "astronaut.jpg", "category_id": 1, "bbox": [150, 15, 160, 180], "score": 0.9},
        {"image_id": "coffee.jpg", "category_id": 2, "bbox": [120, 20, 420, 330], "score": 0.8},
        {"image_id": "coffee.jpg", "category_id": 3, "bbox": [0, 0, 130, 150], "score": 0.7},
        {"image_id": "chelsea.jpg", "category_id": 1, "bbox": [10, 10, 200, 200], "score": 0.6},
    ]
    boxes = tmp_path / "dets.json"
    boxes.write_text(json.dumps(dets))
    with time_limit(LIMIT_S):
        outs = []
        for name, extra in (("local", []), ("ray", ["--ray", "--workers", "2"])):
            out = tmp_path / f"{name}.json"
            argv = ["segment", str(SAMPLE), "--boxes", str(boxes), "-o", str(out), "--device"]
            code, err = run([*argv, "cpu", *extra])
            assert code == 0, err
            assert "4 masks from 4 boxes in 3 images" in err or "masks from 4 boxes" in err
            outs.append(project_without_times(out))
        assert outs[0] == outs[1]
        assert len(outs[0]["annotations"]) >= 3


@pytest.mark.slow
def test_a_checkpoint_the_workers_cannot_load_fails_the_run_and_names_it(
    local_ray, folder, tmp_path, run
):
    missing = tmp_path / "nowhere" / "sam_vit_b.pth"
    with time_limit(LIMIT_S):
        argv = ["amg", str(folder), "-o", str(tmp_path / "out"), "--checkpoint", str(missing)]
        code, err = run([*argv, *FAST, "--ray", "--workers", "1"])
    assert code == 1
    assert "the Ray run failed" in err and "sam_vit_b.pth" in err
    assert not list((tmp_path / "out").iterdir())


def _drop(out: Path, names: tuple[str, ...]) -> None:
    """What a run killed before these images were done (and before it assembled the project)
    leaves: no project file, and no part for `names`."""
    out.unlink()
    for part in Path(f"{out}.parts").glob("*.json"):
        if json.loads(part.read_text())["file_name"] in names:
            part.unlink()


def _resumes_across_local_and_ray(run, argv: list[str], out: Path, reference: Path) -> None:
    """A killed run (either kind) continued locally and on Ray gives the reference project."""
    _drop(out, ("coffee.jpg", "rocket.jpg"))
    code, err = run([*argv, str(out)])  # locally
    assert code == 1 and "2 of 5 images already done" in err, err
    assert project_without_times(out) == project_without_times(reference)
    _drop(out, ("chelsea.jpg", "astronaut.jpg"))
    code, err = run([*argv, str(out), "--ray"])
    assert code == 1 and "2 of 5 images already done" in err, err
    assert project_without_times(out) == project_without_times(reference)


def _same_parts(a: Path, b: Path, count: int) -> None:
    parts = [tree_bytes(Path(f"{out}.parts")) for out in (a, b)]
    for each in parts:  # the hash of the project as written, times included
        each.pop("project.sha256")
    assert parts[0] == parts[1] and len(parts[0]) == count  # one per image, byte for byte


@pytest.mark.slow
def test_segment_boxes_on_ray_are_byte_identical_and_resume_across_local_and_ray(
    local_ray, images, tmp_path, run, monkeypatch, one_thread
):
    monkeypatch.setattr("annotator.cli.segment.load_predictor", ray_support.tiny_predictor)
    names = ["chelsea", "coffee", "astronaut", "rocket", "broken"]
    dets = [{"image_id": f"{name}.jpg", "category_id": 1 + i % 2, "bbox": [5, 5, 60, 50 + i]}
            for i, name in enumerate(names)]  # fmt: skip
    boxes = tmp_path / "dets.json"
    boxes.write_text(json.dumps(dets))
    argv = ["segment", str(images), "--boxes", str(boxes), "-o"]
    with time_limit(LIMIT_S):
        local, on_ray = tmp_path / "local.json", tmp_path / "ray.json"
        assert run([*argv, str(local)])[0] == 1
        code, err = run([*argv, str(on_ray), "--ray", "--workers", "2"])
        assert code == 1 and "broken.jpg" in err  # the corrupt image, as locally
        assert project_without_times(on_ray) == project_without_times(local)
        assert len(project_without_times(local)["annotations"]) == 4
        _same_parts(on_ray, local, 4)
        _resumes_across_local_and_ray(run, argv, on_ray, local)


@pytest.fixture(scope="module")
def sam3_folder(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from tests.engine.concepts.sam3_tiny import save_tiny_checkpoint

    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny-sam3"))


@pytest.mark.slow
def test_segment_text_on_ray_is_byte_identical_and_resumes_across_local_and_ray(
    local_ray, images, tmp_path, run, one_thread, sam3_folder
):
    """The actors load the tiny SAM 3 from its folder (--checkpoint), as nodes would from
    shared storage."""
    model = ["--checkpoint", str(sam3_folder), "--device", "cpu", "--dtype", "float32"]
    argv = ["segment", str(images), "--text", "cat, dog", *model, "-o"]
    with time_limit(LIMIT_S):
        local, on_ray = tmp_path / "local.json", tmp_path / "ray.json"
        assert run([*argv, str(local)])[0] == 1
        code, err = run([*argv, str(on_ray), "--ray", "--workers", "2"])
        assert code == 1 and "broken.jpg" in err, err
        assert "4 images segmented" in err
        assert project_without_times(on_ray) == project_without_times(local)
        assert project_without_times(local)["annotations"]
        _same_parts(on_ray, local, 4)
        _resumes_across_local_and_ray(run, argv, on_ray, local)


def _two_clips(root: Path) -> tuple[list[Path], Path]:
    """Two frame folders (the square starting at steps 0 and 2) and one prompts project with
    both videos' first frames: the square (track 4) and the corner."""
    from annotator.io.coco_store import save_project
    from annotator.io.document import Document
    from tests.cli.track_support import H, W, corner, square, write_clip

    clips = [write_clip(root / "walk"), write_clip(root / "run", first=2)]
    doc = Document(root, categories=["square", "corner"])
    for clip, first in zip(clips, (0, 2), strict=True):
        image = doc.add_image(f"{clip.name}/00000.png", W, H, video=clip.name, frame_index=0)
        doc.add_annotation(image, 1, square(first), track_id=4)
        doc.add_annotation(image, 2, corner(), track_id=5)
    return clips, save_project(doc, root / "prompts.json")


def _frames(out: Path) -> dict[str, bytes]:
    """Every tracked frame's part (masks as RLE, object scores) of every sequence in `out`."""
    return {k: v for k, v in tree_bytes(out).items() if k.rsplit("/", 1)[-1][0].isdigit()}


@pytest.mark.slow
def test_track_several_sequences_on_ray_match_the_local_run_and_resume_either_way(
    local_ray, tmp_path, run, monkeypatch, one_thread
):
    import shutil

    from tests.cli.track_support import save_checkpoint

    monkeypatch.setattr("annotator.cli.track.load_sequence_predictor",
                        ray_support.small_sequence_predictor)  # fmt: skip
    clips, prompts = _two_clips(tmp_path)
    model = ["--checkpoint", str(save_checkpoint(tmp_path)), "--device", "cpu"]
    argv = ["track", *map(str, clips), "--prompts", str(prompts), *model, "--dtype", "float32"]
    with time_limit(LIMIT_S):
        local, on_ray = tmp_path / "local", tmp_path / "ray"
        code, err = run([*argv, "-o", str(local)])
        assert code == 0 and "2 sequences tracked (8 frames), 0 failed" in err, err
        code, err = run([*argv, "-o", str(on_ray), "--ray", "--workers", "2"])
        assert code == 0 and "2 sequences tracked (8 frames), 0 failed" in err, err
        assert len(_frames(local)) == 8 and _frames(on_ray) == _frames(local)
        for name in ("walk.json", "run.json"):
            assert project_without_times(on_ray / name) == project_without_times(local / name)

        # Killed after frame 1 of `run`: its project not yet written. Resumed locally and on
        # Ray from the same state, both continue from frame 1 the same way; walk is skipped.
        (on_ray / "run.json").unlink()
        for frame in ("000002.json", "000003.json"):
            (on_ray / "run.json.parts" / frame).unlink()
        kept = _frames(on_ray)
        shutil.copytree(on_ray, tmp_path / "killed")
        code, err = run([*argv, "-o", str(on_ray)])
        assert code == 0 and "1 of 2 sequences already tracked" in err, err
        assert "1 sequences tracked (4 frames)" in err
        code, err = run([*argv, "-o", str(tmp_path / "killed"), "--ray"])
        assert code == 0 and "1 of 2 sequences already tracked" in err, err
        resumed = _frames(on_ray)
        assert len(resumed) == 8 and {k: resumed[k] for k in kept} == kept
        assert _frames(tmp_path / "killed") == resumed
