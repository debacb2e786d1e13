"""`annotator segment IMAGES --text` with a tiny random SAM 3: one category per phrase, the
model's own instances, resume, atomic parts, failures reported, and `evaluate prelabels`
scoring the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotator.cli.segment_text import split_phrases
from annotator.io.coco_store import load_project


@pytest.fixture(scope="module")
def sam3_folder(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from tests.engine.concepts.sam3_tiny import save_tiny_checkpoint

    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny-sam3"))


def segment(run, folder, out, sam3_folder, *extra):
    model = ["--checkpoint", str(sam3_folder), "--device", "cpu", "--dtype", "float32"]
    return run(["segment", str(folder), "--text", "cat, Dog ,cat", "-o", str(out), *model, *extra])


def test_split_phrases():
    assert split_phrases(" car, person ,Car,, red  car ") == ["car", "person", "red car"]
    assert split_phrases(" , ") == []


def test_each_phrase_becomes_a_category_with_the_models_instances(
    run, folder, tmp_path, sam3_folder
):
    from annotator.engine.concepts import load_concept_predictor
    from annotator.io.images import read_image

    out = tmp_path / "project.json"
    code, err = segment(run, folder, out, sam3_folder)
    assert code == 1 and "broken.jpg" in err  # reported; the others are still segmented
    doc = load_project(out)
    assert [c.name for c in doc.categories()] == ["cat", "Dog"]
    assert sorted(i.file_name for i in doc.images()) == ["chelsea.jpg", "coffee.jpg"]
    predictor = load_concept_predictor(sam3_folder, device="cpu", dtype="float32")
    for record in doc.images():
        predictor.set_image(read_image(folder / record.file_name))
        for category in doc.categories():
            expected = [i.score for i in predictor.find(category.name) if i.mask.any()]
            anns = [a for a in doc.annotations_for(record.id) if a.category_id == category.id]
            assert [a.provenance["score"] for a in anns] == pytest.approx(expected, abs=1e-6)
            for ann in anns:
                assert ann.provenance["source"] == "sam3-text"
                assert ann.provenance["phrase"] == category.name
                assert ann.provenance["score"] > 0.5 and len(ann.provenance["box"]) == 4
    assert len(doc.annotations()) > 0


def test_resume_skips_done_images_and_redoes_them_for_another_threshold(
    run, folder, tmp_path, sam3_folder
):
    out = tmp_path / "project.json"
    (folder / "broken.jpg").unlink()
    assert segment(run, folder, out, sam3_folder)[0] == 0
    first = out.read_bytes()
    code, err = segment(run, folder, out, sam3_folder)
    assert code == 0 and "2 of 2 images already done" in err
    assert len(load_project(out).annotations()) == len(json.loads(first)["annotations"])
    code, err = segment(run, folder, out, sam3_folder, "--threshold", "0.9")
    assert code == 0 and "already done" not in err
    scores = [a.provenance["score"] for a in load_project(out).annotations()]
    assert all(s > 0.9 for s in scores)


def test_an_interrupted_run_keeps_finished_images_and_continues(
    run, folder, tmp_path, sam3_folder, monkeypatch
):
    from annotator.engine.concepts import ConceptPredictor

    (folder / "broken.jpg").unlink()
    real_set_image = ConceptPredictor.set_image
    calls = []

    def set_image_then_interrupt(self, image):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_set_image(self, image)

    monkeypatch.setattr(ConceptPredictor, "set_image", set_image_then_interrupt)
    out = tmp_path / "project.json"
    code, err = segment(run, folder, out, sam3_folder)
    assert code == 130 and "run again to continue" in err
    assert len(load_project(out).images()) == 1
    monkeypatch.setattr(ConceptPredictor, "set_image", real_set_image)
    code, err = segment(run, folder, out, sam3_folder)
    assert code == 0 and "1 of 2 images already done" in err
    assert len(load_project(out).images()) == 2


def test_a_project_from_elsewhere_is_never_replaced_without_force(
    run, folder, tmp_path, sam3_folder
):
    out = tmp_path / "project.json"
    out.write_text('{"images": [], "annotations": [], "categories": []}')
    code, err = segment(run, folder, out, sam3_folder)
    assert code == 2 and "was not written by `annotator segment --text`" in err
    assert "--force" in err and out.read_text().startswith('{"images": []')
    code, _ = segment(run, folder, out, sam3_folder, "--force")
    assert code == 1 and out.with_name("project.json.bak").is_file()
    assert load_project(out).annotations()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--boxes", "dets.json"], "exactly one of --boxes"),
        (["--threshold", "2"], "--threshold must be in"),
    ],
)
def test_bad_options(run, folder, tmp_path, sam3_folder, extra, message):
    code, err = segment(run, folder, tmp_path / "o.json", sam3_folder, *extra)
    assert code == 2 and message in err


def test_without_the_weights_the_error_says_how_to_get_them(run, folder, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    code, err = run(["segment", str(folder), "--text", "car", "-o", str(tmp_path / "o.json")])
    assert code == 2 and "sam3 is not downloaded" in err and "accept its licence" in err


def test_evaluate_prelabels_scores_the_result(run, folder, tmp_path, sam3_folder):
    (folder / "broken.jpg").unlink()
    out = tmp_path / "project.json"
    assert segment(run, folder, out, sam3_folder)[0] == 0
    doc = load_project(out)
    chelsea = next(i for i in doc.images() if i.file_name == "chelsea.jpg")
    gt = {
        "images": [{"id": 5, "file_name": "chelsea.jpg", "width": chelsea.width,
                    "height": chelsea.height}],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [{"id": 1, "image_id": 5, "category_id": 1, "iscrowd": 0,
                         "bbox": [20, 10, 60, 60], "area": 3600,
                         "segmentation": [[20, 10, 80, 10, 80, 70, 20, 70]]}],
    }  # fmt: skip
    gt_path = tmp_path / "gt.json"
    gt_path.write_text(json.dumps(gt))
    code, err = run(["evaluate", "prelabels", str(gt_path), str(out), "-o", str(tmp_path / "ev")])
    assert code == 0, err
    report = json.loads((tmp_path / "ev" / "prelabels.json").read_text())
    assert report["class_agnostic"] is False  # "cat" matched by name
    # every pre-label on the GT's image is scored, of both phrases
    assert report["counts"]["predictions"] == len(doc.annotations_for(chelsea.id)) > 0
