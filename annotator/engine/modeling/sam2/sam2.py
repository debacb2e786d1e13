"""The composite SAM 2.1 network with Meta's ``SAM2Base`` attribute names, and the image path
that ``SAM2ImagePredictor`` runs (the memory modules load but the image path does not use them).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from annotator.engine.modeling.common import MLP
from annotator.engine.postprocess import upsample_logits
from annotator.engine.transforms import ResizeSquare

from .decoder import Sam2MaskDecoder, Sam2PromptEncoder
from .image_encoder import ImageEncoder
from .memory import MemoryAttention, MemoryEncoder

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LOW_RES_CLAMP = 32.0


class Sam2(nn.Module):
    """SAM 2.1: Hiera image encoder, prompt encoder, mask decoder, memory modules.

    Same surface as :class:`~annotator.engine.modeling.sam.Sam` for the predictor:
    ``model_type``, ``img_size`` (1024), ``mask_threshold`` (0.0), ``prompt_hint``,
    ``model_id``, ``device``, ``dtype``, ``make_transform``, ``preprocess``, ``encode_image``,
    ``embed_prompts``, ``decode``, ``postprocess_masks``, ``low_res_clamp``.
    """

    mask_threshold: float = 0.0
    image_format: str = "RGB"
    img_size: int = 1024
    low_res_clamp: float | None = LOW_RES_CLAMP
    normalization = "imagenet"
    prompt_hint = "points_and_boxes"

    def __init__(self, image_encoder: ImageEncoder, model_type: str, num_maskmem: int = 7):
        super().__init__()
        hidden, mem_dim = 256, 64
        self.image_encoder = image_encoder
        self.sam_prompt_encoder = Sam2PromptEncoder(256, (64, 64), (1024, 1024), 16)
        self.sam_mask_decoder = Sam2MaskDecoder(256)
        self.memory_attention = MemoryAttention(hidden, 4)
        self.memory_encoder = MemoryEncoder(mem_dim, hidden)
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(num_maskmem, 1, 1, mem_dim))
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden))
        self.no_obj_embed_spatial = nn.Parameter(torch.zeros(1, mem_dim))
        self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        self.obj_ptr_proj = MLP(hidden, hidden, hidden, 3)
        self.obj_ptr_tpos_proj = nn.Linear(hidden, mem_dim)
        self.model_type = model_type
        self.model_id = model_type
        self.checkpoint_path: str | None = None
        self.make_buffers()

    # -- the predictor's surface ---------------------------------------------------------------
    @property
    def prompt_encoder(self) -> Sam2PromptEncoder:
        return self.sam_prompt_encoder

    @property
    def mask_decoder(self) -> Sam2MaskDecoder:
        return self.sam_mask_decoder

    @property
    def device(self) -> torch.device:
        return self.no_mem_embed.device

    @property
    def dtype(self) -> torch.dtype:
        return self.no_mem_embed.dtype

    def make_buffers(self) -> None:
        """(Re)create the non-persistent buffers (needed after building on the meta device)."""
        device = self.no_mem_embed.device
        if device.type == "meta":
            device = torch.device("cpu")
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(-1, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=device).view(-1, 1, 1)
        self.register_buffer("pixel_mean", mean, False)
        self.register_buffer("pixel_std", std, False)
        for m in self.modules():
            if m is not self and hasattr(m, "make_buffers"):
                m.make_buffers()

    def set_image_size(self, size: int) -> None:
        """Run on ``size`` x ``size`` inputs instead of 1024 (a multiple of 128, as Meta's
        ``image_size``; no weight depends on it). For quick checks on small inputs."""
        if size % 128:
            raise ValueError(f"image size must be a multiple of 128, got {size}")
        e = size // 16
        pe = self.sam_prompt_encoder
        self.img_size = size
        pe.input_image_size, pe.image_embedding_size = (size, size), (e, e)
        pe.mask_input_size = (4 * e, 4 * e)
        pe._dense_pe_cache = None

    def make_transform(self) -> ResizeSquare:
        return ResizeSquare(self.img_size)

    def preprocess(self, x: Tensor) -> Tensor:
        """(B, 3, 1024, 1024) image on the 0-1 scale -> ImageNet-normalised, in the model dtype."""
        x = x.float().contiguous()  # the transform hands over a channels-last view
        return ((x - self.pixel_mean) / self.pixel_std).to(self.dtype)

    def encode_image(self, x: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """Normalised (B, 3, 1024, 1024) -> image embedding (B, 256, 64, 64) with no_mem_embed
        added, and the high-res features ((B, 32, 256, 256), (B, 64, 128, 128)) after
        ``conv_s0`` / ``conv_s1``, as ``SAM2ImagePredictor.set_image`` keeps them."""
        fpn = self.image_encoder(x)
        s0 = self.sam_mask_decoder.conv_s0(fpn[0])
        s1 = self.sam_mask_decoder.conv_s1(fpn[1])
        embed = fpn[2] + self.no_mem_embed.view(1, -1, 1, 1)
        return embed, (s0, s1)

    def embed_prompts(
        self,
        coords: Tensor | None,
        labels: Tensor | None,
        boxes: Tensor | None,
        masks: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """Prompts in model-input pixels -> sparse (B, N, C), dense (B, C, 64, 64) embeddings.

        coords (B, N, 2) / labels (B, N); boxes (B, 4) XYXY become two points labelled 2 and 3
        placed before the clicks; masks (B, 1, 256, 256) logits.
        """
        points = (coords, labels) if coords is not None else None
        if boxes is not None:
            corners = boxes.reshape(-1, 2, 2)
            corner_labels = torch.tensor([[2, 3]], dtype=torch.int, device=boxes.device)
            corner_labels = corner_labels.repeat(corners.shape[0], 1)
            if points is not None:
                points = (
                    torch.cat([corners, points[0]], dim=1),
                    torch.cat([corner_labels, points[1].to(torch.int)], dim=1),
                )
            else:
                points = (corners, corner_labels)
        return self.sam_prompt_encoder(points=points, boxes=None, masks=masks)

    def decode(
        self,
        features: Tensor,
        high_res: tuple[Tensor, Tensor] | None,
        sparse: Tensor,
        dense: Tensor,
        multimask_output: bool,
        image_cache: dict[str, Any] | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Low-res logits (B, C, 256, 256) (unclamped) and scores (B, C)."""
        if high_res is None:
            raise ValueError("SAM 2 needs the high-resolution features of the image")
        low_res, iou, _, _ = self.sam_mask_decoder(
            features,
            self.prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            multimask_output,
            high_res_features=high_res,
            image_cache=image_cache,
        )
        return low_res, iou

    def postprocess_masks(
        self, masks: Tensor, input_size: tuple[int, int], original_size: tuple[int, int]
    ) -> Tensor:
        """(B, C, 256, 256) low-res logits -> (B, C, H, W) float32 logits, one bilinear resize
        straight to the original size (``input_size`` is unused: nothing is padded)."""
        h, w = masks.shape[-2:]
        return upsample_logits(masks.float(), h, (h, w), original_size)

    def postprocess_to_masks(
        self, masks: Tensor, input_size: tuple[int, int], original_size: tuple[int, int]
    ) -> Tensor:
        """(B, C, 256, 256) low-res logits -> (B, C, H, W) bool masks (logits > threshold)."""
        h, w = masks.shape[-2:]
        return upsample_logits(masks.float(), h, (h, w), original_size, self.mask_threshold)
