"""The composite SAM network (SAM ViT-B/L/H, MobileSAM, LiteMedSAM): encoder, prompts, decoder."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from annotator.engine.postprocess import upsample_logits
from annotator.engine.transforms import ResizeLongestSide

from .mask_decoder import MaskDecoder
from .prompt_encoder import PromptEncoder

PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)


class Sam(nn.Module):
    """SAM-family network: image encoder, prompt encoder, mask decoder.

    Attributes: ``model_type``; ``img_size`` (1024, or 256 for LiteMedSAM); ``mask_threshold``
    (0.0, on logits); ``prompt_hint`` ("points_and_boxes", or "boxes" for LiteMedSAM, which was
    trained with box prompts: points alone give weak masks); ``normalization`` ("mean_std" on the
    0-255 scale, or "min_max" to [0, 1] for LiteMedSAM); ``model_id`` (set by ``load_model``).
    """

    mask_threshold: float = 0.0
    image_format: str = "RGB"
    low_res_clamp: float | None = None
    """Low-res logits are returned unclamped (SAM 2 clamps them to +-32)."""

    def __init__(
        self,
        image_encoder: nn.Module,
        prompt_encoder: PromptEncoder,
        mask_decoder: MaskDecoder,
        model_type: str,
        normalization: Literal["mean_std", "min_max"] = "mean_std",
    ) -> None:
        super().__init__()
        self.image_encoder = image_encoder
        self.prompt_encoder = prompt_encoder
        self.mask_decoder = mask_decoder
        self.model_type = model_type
        self.normalization = normalization
        self.img_size: int = image_encoder.img_size
        self.prompt_hint = "boxes" if model_type == "lite_medsam" else "points_and_boxes"
        self.model_id = model_type
        self.checkpoint_path: str | None = None
        self.make_buffers()

    def make_buffers(self) -> None:
        """(Re)create the non-persistent buffers (needed after building on the meta device)."""
        device = self.prompt_encoder.no_mask_embed.weight.device
        if device.type == "meta":
            device = torch.device("cpu")
        self.register_buffer(
            "pixel_mean", torch.tensor(PIXEL_MEAN, device=device).view(-1, 1, 1), False
        )
        self.register_buffer(
            "pixel_std", torch.tensor(PIXEL_STD, device=device).view(-1, 1, 1), False
        )
        for m in self.modules():
            if m is not self and hasattr(m, "make_buffers"):
                m.make_buffers()

    @property
    def device(self) -> torch.device:
        return self.prompt_encoder.no_mask_embed.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.prompt_encoder.no_mask_embed.weight.dtype

    def make_transform(self) -> ResizeLongestSide:
        if self.model_type == "lite_medsam":
            return ResizeLongestSide(self.img_size, "cv2_area", uniform_scale=True)
        return ResizeLongestSide(self.img_size, "pil_bilinear")

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) resized image on the 0-255 scale -> normalised, padded bottom-right to
        (B, 3, img_size, img_size) in the model dtype."""
        x = x.float()
        if self.normalization == "min_max":
            lo = x.amin(dim=(1, 2, 3), keepdim=True)
            hi = x.amax(dim=(1, 2, 3), keepdim=True)
            x = (x - lo) / (hi - lo).clamp(min=1e-8)
        else:
            x = (x - self.pixel_mean) / self.pixel_std
        h, w = x.shape[-2:]
        x = F.pad(x, (0, self.img_size - w, 0, self.img_size - h))
        return x.to(self.dtype)

    # -- the predictor's per-family surface (shared with Sam2) --------------------------------
    def encode_image(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Preprocessed (B, 3, S, S) -> embedding (B, 256, 64, 64) and no high-res features."""
        return self.image_encoder(x), None

    def embed_prompts(
        self,
        coords: torch.Tensor | None,
        labels: torch.Tensor | None,
        boxes: torch.Tensor | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts in model-input pixels -> sparse (B, N, C) and dense (B, C, 64, 64)."""
        points = (coords, labels) if coords is not None else None
        return self.prompt_encoder(points=points, boxes=boxes, masks=masks)

    def decode(
        self,
        features: torch.Tensor,
        high_res: None,
        sparse: torch.Tensor,
        dense: torch.Tensor,
        multimask_output: bool,
        image_cache: dict[str, Any] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Low-res logits (B, C, 256, 256) and IoU scores (B, C)."""
        image_pe = self.prompt_encoder.get_dense_pe()
        return self.mask_decoder(
            features, image_pe, sparse, dense, multimask_output, image_cache=image_cache
        )

    def postprocess_masks(
        self,
        masks: torch.Tensor,
        input_size: tuple[int, int],
        original_size: tuple[int, int],
    ) -> torch.Tensor:
        """(B, C, 256, 256) low-res logits -> (B, C, H, W) float32 logits at original size.

        Same result as upsampling to img_size, cropping the padding and resizing to the original
        size (SAM's two steps); see :func:`upsample_logits` for how it is done in one.
        """
        return upsample_logits(masks.float(), self.img_size, input_size, original_size)

    def postprocess_to_masks(
        self,
        masks: torch.Tensor,
        input_size: tuple[int, int],
        original_size: tuple[int, int],
    ) -> torch.Tensor:
        """(B, C, 256, 256) low-res logits -> (B, C, H, W) bool masks (logits > mask_threshold)."""
        return upsample_logits(
            masks.float(), self.img_size, input_size, original_size, self.mask_threshold
        )

    @torch.inference_mode()
    def forward(
        self, batched_input: list[dict[str, Any]], multimask_output: bool
    ) -> list[dict[str, torch.Tensor]]:
        """End-to-end prediction over several images, as ``segment_anything.Sam.forward``.

        Each record: 'image' (3, h, w) already resized by ``make_transform().apply_image`` (0-255),
        'original_size' (H, W), optional 'point_coords' (B, N, 2) / 'point_labels' (B, N),
        'boxes' (B, 4), 'mask_inputs' (B, 1, 256, 256), prompts in model-input pixels.
        Returns per image: 'masks' (B, C, H, W) bool, 'iou_predictions' (B, C),
        'low_res_logits' (B, C, 256, 256).
        """
        images = torch.stack([self.preprocess(r["image"][None])[0] for r in batched_input])
        embeddings = self.image_encoder(images)
        outputs = []
        for record, emb in zip(batched_input, embeddings, strict=True):
            points = None
            if "point_coords" in record:
                points = (record["point_coords"], record["point_labels"])
            sparse, dense = self.prompt_encoder(
                points=points, boxes=record.get("boxes"), masks=record.get("mask_inputs")
            )
            low_res, iou = self.mask_decoder(
                emb[None], self.prompt_encoder.get_dense_pe(), sparse, dense, multimask_output
            )
            masks = self.postprocess_to_masks(
                low_res, tuple(record["image"].shape[-2:]), tuple(record["original_size"])
            )
            outputs.append(
                {
                    "masks": masks,
                    "iou_predictions": iou.float(),
                    "low_res_logits": low_res.float(),
                }
            )
        return outputs
