"""ConceptPredictor against transformers' own Sam3Model + Sam3Processor post-processing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from annotator.engine.concepts import ConceptPredictor
from tests.engine.concepts.conftest import photo

THRESHOLD = 0.5


def reference(model, processor, image, text=None, boxes=None, labels=None, threshold=THRESHOLD):
    """What a transformers user gets: one full forward from the processor's inputs."""
    kwargs = {}
    if boxes:
        kwargs = {"input_boxes": [boxes], "input_boxes_labels": [labels]}
    inputs = processor(images=image, text=text, return_tensors="pt", **kwargs)
    with torch.inference_mode():
        outputs = model(**inputs)
    (result,) = processor.post_process_instance_segmentation(
        outputs, threshold=threshold, mask_threshold=0.5, target_sizes=[image.shape[:2]]
    )
    order = torch.argsort(result["scores"], descending=True, stable=True)
    return (
        result["masks"][order].bool().numpy(),
        result["boxes"][order].numpy(),
        result["scores"][order].numpy(),
    )


def assert_same(found, expected):
    masks, boxes, scores = expected
    assert len(found) == len(scores)
    assert len(found) > 0, "the case keeps no instance, so it compares nothing"
    np.testing.assert_array_equal(np.stack([i.mask for i in found]), masks)
    np.testing.assert_array_equal(np.array([i.box for i in found], dtype=np.float32), boxes)
    np.testing.assert_array_equal(np.array([i.score for i in found], dtype=np.float32), scores)


CASES = {
    "text only": dict(image="chelsea.jpg", text="car"),
    "text + exemplar": dict(
        image="coffee.jpg", text="dog", boxes=[[40.0, 30.0, 200.0, 180.0]], labels=[1]
    ),
    "exemplar only": dict(image="chelsea.jpg", boxes=[[100.0, 50.0, 300.0, 250.0]], labels=[1]),
    "exemplar + negative": dict(
        image="coffee.jpg",
        boxes=[[100.0, 50.0, 300.0, 250.0], [10.0, 10.0, 60.0, 90.0]],
        labels=[1, 0],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_find_matches_transformers(tiny_sam3, case):
    model, processor = tiny_sam3
    spec = CASES[case]
    image = photo(spec["image"])
    boxes = spec.get("boxes", [])
    labels = spec.get("labels", [])
    predictor = ConceptPredictor(model, processor)
    predictor.set_image(image)
    found = predictor.find(
        text=spec.get("text"),
        exemplar_boxes=[b for b, lab in zip(boxes, labels, strict=True) if lab == 1],
        negative_boxes=[b for b, lab in zip(boxes, labels, strict=True) if lab == 0],
        threshold=THRESHOLD,
    )
    assert_same(found, reference(model, processor, image, spec.get("text"), boxes, labels))
    h, w = image.shape[:2]
    for instance in found:
        assert instance.mask.shape == (h, w) and instance.mask.dtype == bool
        assert 0.0 <= instance.score <= 1.0
    assert [i.score for i in found] == sorted((i.score for i in found), reverse=True)


def test_threshold_keeps_scores_above_it(tiny_sam3):
    predictor = ConceptPredictor(*tiny_sam3)
    predictor.set_image(photo("astronaut.jpg"))
    everything = predictor.find("person", threshold=0.0)
    strict = predictor.find("person", threshold=0.8)
    assert 0 < len(strict) < len(everything)
    assert [i.score for i in strict] == [i.score for i in everything if i.score > 0.8]


def test_one_encode_many_queries_and_one_text_encode_per_phrase(tiny_sam3):
    model, processor = tiny_sam3
    calls = {"vision": 0, "text": 0}

    def count(name):
        def hook(*_args):
            calls[name] += 1

        return hook

    handles = [
        model.vision_encoder.register_forward_hook(count("vision")),
        model.text_encoder.register_forward_hook(count("text")),
    ]
    try:
        predictor = ConceptPredictor(model, processor)
        predictor.set_image(photo("chelsea.jpg"))
        first = predictor.find("cat")
        predictor.find("dog")
        predictor.find("cat", exemplar_boxes=[[10, 10, 90, 90]])
        again = predictor.find("cat")
    finally:
        for handle in handles:
            handle.remove()
    assert calls == {"vision": 1, "text": 2}
    assert [i.score for i in again] == [i.score for i in first]


def test_a_new_image_replaces_the_old_embedding(tiny_sam3):
    model, processor = tiny_sam3
    predictor = ConceptPredictor(model, processor)
    predictor.set_image(photo("chelsea.jpg"))
    predictor.set_image(photo("coffee.jpg"))
    assert_same(predictor.find("car"), reference(model, processor, photo("coffee.jpg"), "car"))


def test_gray_and_rgba_images_are_accepted(tiny_sam3):
    predictor = ConceptPredictor(*tiny_sam3)
    rgb = photo("coffee.jpg")
    predictor.set_image(rgb[..., 0])
    assert predictor.original_size == rgb.shape[:2]
    predictor.set_image(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]))
    assert_same(predictor.find("car"), reference(*tiny_sam3, rgb, "car"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give a phrase or at least one exemplar box"),
        ({"text": "   "}, "give a phrase or at least one exemplar box"),
        ({"negative_boxes": [[0, 0, 5, 5]]}, "give a phrase or at least one exemplar box"),
        ({"text": "car", "threshold": 1.5}, "threshold must be in"),
        ({"exemplar_boxes": [[10, 10, 5, 50]]}, "is empty"),
        ({"exemplar_boxes": [[10, 10, float("nan"), 50]]}, "non-finite"),
        ({"exemplar_boxes": [[1, 2, 3]]}, r"\(N, 4\)"),
    ],
)
def test_bad_prompts_get_a_clear_error(tiny_sam3, kwargs, message):
    predictor = ConceptPredictor(*tiny_sam3)
    predictor.set_image(photo("coffee.jpg"))
    with pytest.raises(ValueError, match=message):
        predictor.find(**kwargs)


def test_find_before_set_image(tiny_sam3):
    with pytest.raises(RuntimeError, match="call set_image first"):
        ConceptPredictor(*tiny_sam3).find("car")
