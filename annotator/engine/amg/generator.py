"""Automatic mask generation ("segment everything"): a point grid over the image, one mask per
point, filtered by predicted IoU, stability and box NMS.

Same parameters, defaults and output records as segment-anything's ``SamAutomaticMaskGenerator``
(SAM 1 models) and sam2's ``SAM2AutomaticMaskGenerator`` (SAM 2.1: its ``mask_threshold``,
``multimask_output`` and ``use_m2m`` refinement too), and the same mask set on the same weights,
but faster: all prompts of a batch go through the
decoder once and only low-res logits come back; the predicted-IoU filter runs before any
upsampling, only survivors are upsampled; masks are kept cropped to their boxes, NMS runs on
the device, and only the final masks are RLE-encoded (pycocotools).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torchvision.ops import batched_nms

from annotator.engine.amg.candidates import Candidates
from annotator.engine.amg.decode import TwoStageDecoder
from annotator.engine.amg.grids import (
    build_all_layer_point_grids,
    generate_crop_boxes,
    is_box_near_crop_edge,
)
from annotator.engine.amg.mask_ops import (
    batched_mask_to_box,
    encode_rles,
    remove_small_regions,
    stability_score,
    uncompressed_rle,
)
from annotator.engine.amg.options import DEFAULTS as _D
from annotator.engine.amg.options import AmgOptions, family_of
from annotator.engine.amg.prompt_warning import PointPromptWarning, point_prompt_warning

OUTPUT_MODES = ("binary_mask", "uncompressed_rle", "coco_rle")
_UPSAMPLE_CHUNK = 16  # masks upsampled at once: bounds the full-resolution float memory
_PROMPT_CHUNK = 16  # prompts upscaled at once: bounds the (n, 32, 256, 256) upscaling memory


class AutomaticMaskGenerator:
    """Masks for everything in an image, from a grid of single-point prompts.

    `model_or_predictor` is a loaded model (wrapped in `annotator.engine.Predictor`) or any
    object with segment-anything's ``SamPredictor`` API. Parameters and defaults are those of
    the reference generator of the model's family (written once, in `AmgOptions`; see
    `from_options`): segment-anything's ``SamAutomaticMaskGenerator``, or for SAM 2.1 sam2's
    ``SAM2AutomaticMaskGenerator`` (``pred_iou_thresh`` None takes the family's default, 0.88 or
    0.8); see their documentation. ``points_per_side`` and ``point_grids`` (normalised (n, 2) xy
    grids, one per crop layer) are exclusive. ``min_mask_region_area`` cleans the final masks
    as segment-anything's generator does, for both families (sam2's generator hands it to
    its predictor's CUDA-only hole filling instead, which does nothing on a CPU).
    """

    def __init__(
        self,
        model_or_predictor: Any,
        points_per_side: int | None = _D.points_per_side,
        points_per_batch: int = _D.points_per_batch,
        pred_iou_thresh: float | None = _D.pred_iou_thresh,
        stability_score_thresh: float = _D.stability_score_thresh,
        stability_score_offset: float = _D.stability_score_offset,
        box_nms_thresh: float = _D.box_nms_thresh,
        crop_n_layers: int = _D.crop_n_layers,
        crop_nms_thresh: float = _D.crop_nms_thresh,
        crop_overlap_ratio: float = _D.crop_overlap_ratio,
        crop_n_points_downscale_factor: int = _D.crop_n_points_downscale_factor,
        point_grids: list[np.ndarray] | None = None,
        min_mask_region_area: int = _D.min_mask_region_area,
        output_mode: str = _D.output_mode,
        mask_threshold: float = _D.mask_threshold,
        multimask_output: bool = _D.multimask_output,
        use_m2m: bool = _D.use_m2m,
    ) -> None:
        if (points_per_side is None) == (point_grids is None):
            raise ValueError("give exactly one of points_per_side and point_grids")
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output_mode must be one of {OUTPUT_MODES}, not {output_mode!r}")
        if points_per_batch < 1:
            raise ValueError(f"points_per_batch must be >= 1, got {points_per_batch}")
        if points_per_side is not None:
            if points_per_side < 1:
                raise ValueError(f"points_per_side must be >= 1, got {points_per_side}")
            self.point_grids = build_all_layer_point_grids(
                points_per_side, crop_n_layers, crop_n_points_downscale_factor
            )
        else:
            assert point_grids is not None
            if len(point_grids) < crop_n_layers + 1:
                raise ValueError(f"point_grids needs one grid per crop layer ({crop_n_layers + 1})")
            self.point_grids = [np.asarray(g, dtype=np.float64) for g in point_grids]

        if hasattr(model_or_predictor, "set_image"):
            self.predictor = model_or_predictor
        else:
            from annotator.engine import Predictor

            self.predictor = Predictor(model_or_predictor)
        self.family = family_of(self.predictor.model)
        if pred_iou_thresh is None:
            pred_iou_thresh = AmgOptions().resolved(self.family).pred_iou_thresh
        self.points_per_batch = points_per_batch
        self.pred_iou_thresh: float = pred_iou_thresh  # type: ignore[assignment]
        self.stability_score_thresh = stability_score_thresh
        self.stability_score_offset = stability_score_offset
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.min_mask_region_area = min_mask_region_area
        self.output_mode = output_mode
        self.mask_threshold = mask_threshold
        self.multimask_output = multimask_output
        self.use_m2m = use_m2m
        self._decoder = TwoStageDecoder(self.predictor)
        self.warning = point_prompt_warning(self.predictor.model)
        if self.warning:
            warnings.warn(self.warning, PointPromptWarning, stacklevel=2)

    @classmethod
    def from_options(
        cls, model_or_predictor: Any, options: AmgOptions = _D
    ) -> AutomaticMaskGenerator:
        """A generator with the parameters of `options` (an `AmgOptions`)."""
        return cls(model_or_predictor, **options.as_kwargs())  # type: ignore[arg-type]

    @torch.inference_mode()
    def generate(self, image: np.ndarray, *, image_is_set: bool = False) -> list[dict[str, Any]]:
        """Masks for `image`, an (H, W, 3) uint8 RGB array (or any layout `set_image` takes).

        Returns one record per mask, ordered as the reference orders them:
        segmentation ((H, W) bool, or an RLE dict per `output_mode`), area (int pixels),
        bbox (XYWH ints, original-image pixels; w and h are max - min like the reference's),
        predicted_iou, point_coords ([[x, y]] original-image pixels), stability_score,
        crop_box (XYWH ints).

        image_is_set: the predictor already holds this image's embedding (e.g. the app encoded
        it for clicks): the encoder is not run again for the whole-image pass, and afterwards
        the predictor still holds it. Otherwise the predictor is left reset, like the reference.
        """
        orig_h, orig_w = image.shape[:2]
        if image_is_set and not getattr(self.predictor, "is_image_set", False):
            raise ValueError("image_is_set=True but the predictor has no image set")
        saved = None
        if image_is_set and self.crop_n_layers > 0:
            saved = self.predictor.get_image_state()  # crops overwrite the embedding
        crop_boxes, layer_idxs = generate_crop_boxes(
            (orig_h, orig_w), self.crop_n_layers, self.crop_overlap_ratio
        )
        data = Candidates()
        for crop_box, layer_idx in zip(crop_boxes, layer_idxs, strict=True):
            reuse = image_is_set and crop_box == [0, 0, orig_w, orig_h]
            data.extend(self._process_crop(image, crop_box, layer_idx, (orig_h, orig_w), reuse))
        if saved is not None:
            self.predictor.set_image_state(saved)

        if len(crop_boxes) > 1 and len(data):
            # Between crops, prefer masks from smaller crops.
            crops = torch.as_tensor(data.crop_boxes, dtype=torch.int64)
            scores = 1 / ((crops[:, 2] - crops[:, 0]) * (crops[:, 3] - crops[:, 1])).float()
            boxes = data.box_tensor().float().cpu()
            keep = batched_nms(boxes, scores, torch.zeros(len(boxes)), self.crop_nms_thresh)
            data = data.select(keep.tolist())

        boxes = data.box_tensor().cpu()
        masks = [
            self._full_mask(p, b, (orig_h, orig_w))
            for p, b in zip(data.patches, boxes, strict=True)
        ]
        if self.min_mask_region_area > 0 and len(data):
            masks, boxes, keep = self._remove_small_regions(masks, boxes)
            data = data.select(keep)
            masks = [masks[i] for i in keep]
            boxes = boxes[torch.as_tensor(keep, dtype=torch.long)]
        return self._records(data, masks, boxes)

    # -- one crop --------------------------------------------------------------------------
    def _process_crop(
        self,
        image: np.ndarray,
        crop_box: list[int],
        layer_idx: int,
        orig_size: tuple[int, int],
        reuse_embedding: bool = False,
    ) -> Candidates:
        x0, y0, x1, y1 = crop_box
        crop = image[y0:y1, x0:x1]
        if not reuse_embedding:
            self.predictor.set_image(crop)
        self._decoder.reset()
        crop_h, crop_w = crop.shape[:2]
        points = self.point_grids[layer_idx] * np.array([[crop_w, crop_h]], dtype=np.float64)

        data = Candidates()
        for start in range(0, len(points), self.points_per_batch):
            batch = points[start : start + self.points_per_batch]
            self._process_batch(batch, (crop_h, crop_w), crop_box, orig_size, data)
        if not reuse_embedding:
            self.predictor.reset_image()
        self._decoder.reset()
        if not len(data):
            return data

        boxes = data.box_tensor()
        ious = torch.cat(data.iou_preds)
        keep = batched_nms(
            boxes.float(), ious.float(), torch.zeros_like(ious), self.box_nms_thresh
        ).tolist()
        data = data.select(keep)
        # Back to the original image frame.
        offset = torch.tensor([x0, y0, x0, y0], device=data.boxes[0].device)
        data.boxes = [data.boxes[0] + offset]
        data.points = [data.points[0] + np.array([[x0, y0]], dtype=np.float64)]
        data.crop_boxes = [list(crop_box) for _ in range(len(data))]
        return data

    def _process_batch(
        self,
        points: np.ndarray,
        crop_size: tuple[int, int],
        crop_box: list[int],
        orig_size: tuple[int, int],
        out: Candidates,
    ) -> None:
        predictor = self.predictor
        coords = predictor.transform.apply_coords(points, crop_size)
        in_points = torch.as_tensor(coords, device=predictor.device)
        in_labels = torch.ones(len(in_points), dtype=torch.int, device=predictor.device)
        decoded = self._decoder.tokens(
            in_points[:, None, :], in_labels[:, None], self.multimask_output
        )
        n_out = decoded.iou_preds.shape[1]
        points = np.repeat(points, n_out, axis=0)
        if self.use_m2m:
            self._refine_batch(decoded, in_points, points, crop_box, orig_size, out)
            return
        iou_preds = decoded.iou_preds.flatten()

        # Predicted-IoU filter first: it needs no masks, so prompts whose masks all fail it are
        # never upscaled, and the survivors' masks are upsampled only after it.
        if self.pred_iou_thresh > 0.0:
            keep = iou_preds > self.pred_iou_thresh
        else:
            keep = torch.ones_like(iou_preds, dtype=torch.bool)
        prompts = torch.nonzero(keep.view(-1, n_out).any(dim=1)).flatten()
        outs = torch.arange(n_out, device=keep.device)
        for start in range(0, len(prompts), _PROMPT_CHUNK):
            chunk = prompts[start : start + _PROMPT_CHUNK]
            low_res = self._decoder.masks(decoded, chunk).flatten(0, 1)
            ids = (chunk[:, None] * n_out + outs[None, :]).flatten()
            sel = keep[ids]
            self._postprocess(low_res[sel], ids[sel], iou_preds, points, crop_box, orig_size, out)

    def _refine_batch(
        self,
        decoded: Any,
        in_points: torch.Tensor,
        points: np.ndarray,
        crop_box: list[int],
        orig_size: tuple[int, int],
        out: Candidates,
    ) -> None:
        """SAM 2's m2m: every candidate mask is refined (fed back with its point), and the
        filters then run on the refined masks and IoU predictions, as the reference does."""
        n_prompts, n_out = decoded.iou_preds.shape
        prompts = torch.arange(n_prompts, device=decoded.iou_preds.device)
        low_res = torch.cat(
            [
                self._decoder.masks(decoded, prompts[s : s + _PROMPT_CHUNK]).flatten(0, 1)
                for s in range(0, n_prompts, _PROMPT_CHUNK)
            ]
        )
        coords = in_points.repeat_interleave(n_out, dim=0)[:, None, :]
        labels = torch.ones(coords.shape[:2], dtype=torch.int, device=coords.device)
        refined, ious = [], []
        for s in range(0, len(low_res), self.points_per_batch):
            e = s + self.points_per_batch
            r, i = self._decoder.refine(coords[s:e], labels[s:e], low_res[s:e])
            refined.append(r)
            ious.append(i)
        low_res, iou_preds = torch.cat(refined), torch.cat(ious)
        if self.pred_iou_thresh > 0.0:
            ids = torch.nonzero(iou_preds > self.pred_iou_thresh).flatten()
        else:
            ids = torch.arange(len(iou_preds), device=iou_preds.device)
        self._postprocess(low_res[ids], ids, iou_preds, points, crop_box, orig_size, out)

    def _postprocess(
        self,
        low_res: torch.Tensor,
        ids: torch.Tensor,
        iou_preds: torch.Tensor,
        points: np.ndarray,
        crop_box: list[int],
        orig_size: tuple[int, int],
        out: Candidates,
    ) -> None:
        """Stability filter, binarise, box, crop-edge filter for low-res logits (n, h, w) of the
        candidates `ids` (indices into `iou_preds` / `points`); survivors are appended to `out`."""
        threshold = self.mask_threshold
        orig_h, orig_w = orig_size
        for start in range(0, len(ids), _UPSAMPLE_CHUNK):
            chunk = ids[start : start + _UPSAMPLE_CHUNK]
            logits = self._upsample(low_res[start : start + _UPSAMPLE_CHUNK])
            stab = stability_score(logits, threshold, self.stability_score_offset)
            if self.stability_score_thresh > 0.0:
                sel = stab >= self.stability_score_thresh
                chunk, logits, stab = chunk[sel], logits[sel], stab[sel]
            masks = logits > threshold
            del logits
            boxes = batched_mask_to_box(masks)
            sel = ~is_box_near_crop_edge(boxes, crop_box, [0, 0, orig_w, orig_h])
            chunk, masks, stab, boxes = chunk[sel], masks[sel], stab[sel], boxes[sel]
            if len(chunk) == 0:
                continue
            out.boxes.append(boxes)
            out.iou_preds.append(iou_preds[chunk])
            out.stability.append(stab)
            out.points.append(points[chunk.cpu().numpy()])
            box_list = boxes.tolist()
            masks_cpu = masks.cpu().numpy()
            for mask, (bx0, by0, bx1, by1) in zip(masks_cpu, box_list, strict=True):
                out.patches.append(mask[by0 : by1 + 1, bx0 : bx1 + 1].copy())

    def _upsample(self, low_res: torch.Tensor) -> torch.Tensor:
        """(n, h, w) low-res logits -> (n, H, W) logits at the current (crop) image size."""
        predictor = self.predictor
        up = predictor.model.postprocess_masks(
            low_res[:, None], predictor.input_size, predictor.original_size
        )
        return up[:, 0]

    # -- whole image -------------------------------------------------------------------------
    @staticmethod
    def _full_mask(patch: np.ndarray, box: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
        mask = np.zeros(size, dtype=bool)
        x0, y0 = int(box[0]), int(box[1])
        mask[y0 : y0 + patch.shape[0], x0 : x0 + patch.shape[1]] = patch
        return mask

    def _remove_small_regions(
        self, masks: list[np.ndarray], boxes: torch.Tensor
    ) -> tuple[list[np.ndarray], torch.Tensor, list[int]]:
        """Fill small holes, drop small islands, then NMS again preferring unchanged masks."""
        new_masks, unchanged = [], []
        for mask in masks:
            mask, changed_holes = remove_small_regions(mask, self.min_mask_region_area, "holes")
            mask, changed_islands = remove_small_regions(mask, self.min_mask_region_area, "islands")
            new_masks.append(mask)
            unchanged.append(float(not (changed_holes or changed_islands)))
        new_boxes = batched_mask_to_box(torch.from_numpy(np.stack(new_masks)))
        keep = batched_nms(
            new_boxes.float(),
            torch.as_tensor(unchanged),
            torch.zeros(len(new_boxes)),
            max(self.box_nms_thresh, self.crop_nms_thresh),
        ).tolist()
        out_masks = list(masks)
        out_boxes = boxes.clone()
        for i in keep:
            if unchanged[i] == 0.0:
                out_masks[i] = new_masks[i]
                out_boxes[i] = new_boxes[i]
        return out_masks, out_boxes, keep

    def _records(
        self, data: Candidates, masks: list[np.ndarray], boxes: torch.Tensor
    ) -> list[dict[str, Any]]:
        if not len(data):
            return []
        if self.output_mode == "coco_rle":
            segmentations: list[Any] = encode_rles(np.stack(masks))
        elif self.output_mode == "uncompressed_rle":
            segmentations = [uncompressed_rle(m) for m in masks]
        else:
            segmentations = masks
        ious = torch.cat(data.iou_preds).tolist()
        stab = torch.cat(data.stability).tolist()
        points = np.concatenate(data.points).tolist()
        records = []
        for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
            cx0, cy0, cx1, cy1 = data.crop_boxes[i]
            records.append(
                {
                    "segmentation": segmentations[i],
                    "area": int(masks[i].sum()),
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "predicted_iou": ious[i],
                    "point_coords": [points[i]],
                    "stability_score": stab[i],
                    "crop_box": [cx0, cy0, cx1 - cx0, cy1 - cy0],
                }
            )
        return records
