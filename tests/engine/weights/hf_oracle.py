"""transformers' SAM and SAM 2.1 models as the oracle of the HF checkpoint parity tests."""

from __future__ import annotations

import numpy as np
import torch

from tests.engine.oracles import assert_same, prompt_cases


def hf_predict(model, processor, image, embeddings, case, multimask, mask_input=None):
    """SamModel + SamProcessor (or Sam2Model + Sam2Processor) on one prompt case of
    ``tests.engine.oracles.prompt_cases``: (masks bool (C, H, W), scores (C,), low-res logits)."""
    kwargs = {}
    if "point_coords" in case:
        kwargs["input_points"] = [[case["point_coords"].tolist()]]
        kwargs["input_labels"] = [[case["point_labels"].tolist()]]
    if "box" in case:
        kwargs["input_boxes"] = [[case["box"].tolist()]]
    inputs = processor(images=image, return_tensors="pt", **kwargs)
    with torch.no_grad():
        out = model(
            image_embeddings=embeddings,
            input_points=inputs.get("input_points"),
            input_labels=inputs.get("input_labels"),
            input_boxes=inputs.get("input_boxes"),
            input_masks=None if mask_input is None else torch.from_numpy(mask_input)[None],
            multimask_output=multimask,
        )
    if "reshaped_input_sizes" in inputs:  # SAM 1: the padded 1024 input is cropped back first
        full = processor.image_processor.post_process_masks(
            out.pred_masks, inputs["original_sizes"], inputs["reshaped_input_sizes"]
        )
    else:  # SAM 2.1: resized without padding
        full = processor.post_process_masks(out.pred_masks, inputs["original_sizes"])
    masks: np.ndarray = full[0][0].numpy()
    return masks, out.iou_scores[0, 0].numpy(), out.pred_masks[0, 0].numpy()


def assert_matches_hf(model, processor, ours, image) -> None:
    """``ours`` (an engine Predictor of the same weights) gives transformers' masks, scores and
    logits on every prompt case, single- and multi-mask, and again with the best logits fed
    back as the mask input."""
    ours.set_image(image)
    with torch.no_grad():
        embeddings = model.get_image_embeddings(
            processor(images=image, return_tensors="pt")["pixel_values"]
        )
    h, w = image.shape[:2]
    for multimask in (True, False):
        for case in prompt_cases(h, w).values():
            ref = hf_predict(model, processor, image, embeddings, case, multimask)
            assert_same(ref, ours.predict(**case, multimask_output=multimask))
            best = ref[2][int(np.argmax(ref[1]))][None]  # (1, 256, 256) logits fed back
            ref2 = hf_predict(model, processor, image, embeddings, case, multimask, best)
            assert_same(ref2, ours.predict(**case, mask_input=best, multimask_output=multimask))
