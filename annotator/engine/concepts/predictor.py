"""Every instance of a concept in one image: SAM 3 behind the engine's interface.

``set_image`` runs the vision encoder once; each ``find`` then runs only the text encoder
(cached per phrase), the geometry encoder for exemplar boxes, the DETR encoder/decoder and the
mask decoder, so asking for "car", then "person", then "car" with an exemplar re-encodes
nothing. Pre- and post-processing are transformers' own ``Sam3Processor``, so the instances
are exactly those of ``Sam3Model`` + ``post_process_instance_segmentation``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from annotator.engine.image_state import as_rgb_uint8

from .instances import ConceptInstance, as_box_list, clean_phrase

VISUAL_PHRASE = "visual"
"""The phrase SAM 3 pairs with exemplar boxes when no text is given (as Sam3Processor does)."""

MASK_THRESHOLD = 0.5
"""Mask probability above which a pixel belongs to an instance (transformers' default)."""

_TEXT_CACHE_SIZE = 64
_NOT_SET = "call set_image first: no image is set on this ConceptPredictor"


class ConceptPredictor:
    """Find every instance of a noun phrase and/or of exemplar boxes in one image at a time.

    model: a transformers ``Sam3Model`` (eval mode, on its device, in its precision, as
    ``load_concept_predictor`` builds it); processor: its ``Sam3Processor``.
    """

    def __init__(self, model: Any, processor: Any) -> None:
        self.model = model
        self.processor = processor
        self._text_cache: OrderedDict[str, Any] = OrderedDict()
        self.reset_image()

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """dtype of the query side (the text encoder onwards)."""
        return self.model.text_projection.weight.dtype

    @property
    def image_size(self) -> int:
        """Side of the square the image is resized to for the model (1008 for SAM 3)."""
        return int(self.processor.target_size)

    def reset_image(self) -> None:
        """Forget the current image and its embedding."""
        self.is_image_set = False
        self.original_size: tuple[int, int] | None = None
        self._vision: Any = None

    @torch.inference_mode()
    def set_image(self, image: np.ndarray) -> None:
        """Encode ``image``: (H, W) gray, (H, W, 3) RGB or (H, W, 4) (alpha dropped), uint8 or
        uint16, any size (resized to a square of ``image_size`` as SAM 3 was trained)."""
        rgb = as_rgb_uint8(image)
        if not rgb.flags.writeable:  # torch.from_numpy inside the processor warns on these
            rgb = rgb.copy()
        self.reset_image()
        encoded = self.processor.image_processor(images=rgb, return_tensors="pt")
        pixels = encoded["pixel_values"].to(self.device, self.dtype)
        self._vision = self.model.get_vision_features(pixel_values=pixels)
        self.original_size = (int(rgb.shape[0]), int(rgb.shape[1]))
        self.is_image_set = True

    @torch.inference_mode()
    def find(
        self,
        text: str | None = None,
        exemplar_boxes: Sequence[Sequence[float]] | np.ndarray = (),
        negative_boxes: Sequence[Sequence[float]] | np.ndarray = (),
        threshold: float = 0.5,
    ) -> list[ConceptInstance]:
        """Instances of the concept, best score first.

        text: a short noun phrase ("car", "person with helmet") or None; exemplar_boxes /
        negative_boxes: (N, 4) XYXY in original-image pixels around instances that are / are
        not the concept; threshold: keep instances whose score is above it, in [0, 1].
        At least a phrase or one exemplar box is needed.
        """
        if not self.is_image_set or self.original_size is None:
            raise RuntimeError(_NOT_SET)
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        phrase = clean_phrase(text)
        positives = as_box_list(exemplar_boxes, "exemplar_boxes")
        negatives = as_box_list(negative_boxes, "negative_boxes")
        if phrase is None and not positives:
            raise ValueError("give a phrase or at least one exemplar box to find")
        text_inputs = self._text(phrase or VISUAL_PHRASE)
        extra: dict[str, torch.Tensor] = {}
        if positives or negatives:
            boxes = self.processor(
                input_boxes=[positives + negatives],
                input_boxes_labels=[[1] * len(positives) + [0] * len(negatives)],
                original_sizes=[list(self.original_size)],
                return_tensors="pt",
            )
            extra["input_boxes"] = boxes["input_boxes"].to(self.device, self.dtype)
            extra["input_boxes_labels"] = boxes["input_boxes_labels"].to(self.device)
        outputs = self.model(vision_embeds=self._vision, **text_inputs, **extra)
        for name in ("pred_logits", "pred_boxes", "pred_masks", "presence_logits"):
            value = getattr(outputs, name)
            if value is not None:
                setattr(outputs, name, value.float())
        (result,) = self.processor.post_process_instance_segmentation(
            outputs,
            threshold=float(threshold),
            mask_threshold=MASK_THRESHOLD,
            target_sizes=[self.original_size],
        )
        return _instances(result)

    def _text(self, phrase: str) -> dict[str, Any]:
        """The phrase's text features and attention mask, computed once per phrase."""
        cached = self._text_cache.get(phrase)
        if cached is None:
            tokens = self.processor(text=phrase, return_tensors="pt")
            mask = tokens["attention_mask"].to(self.device)
            features = self.model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device), attention_mask=mask
            )
            cached = {"text_embeds": features, "attention_mask": mask}
            self._text_cache[phrase] = cached
            while len(self._text_cache) > _TEXT_CACHE_SIZE:
                self._text_cache.popitem(last=False)
        else:
            self._text_cache.move_to_end(phrase)
        return cached


def _instances(result: dict[str, torch.Tensor]) -> list[ConceptInstance]:
    scores = result["scores"].float().cpu()
    order = torch.argsort(scores, descending=True, stable=True).tolist()
    boxes = result["boxes"].float().cpu().numpy()
    masks = result["masks"].bool().cpu().numpy()
    return [
        ConceptInstance(
            mask=masks[i],
            box=tuple(float(v) for v in boxes[i]),
            score=float(scores[i]),
        )
        for i in order
    ]
