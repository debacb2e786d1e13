"""One frame of SAM 2.1 tracking on the :class:`Sam2` network, as Meta's ``SAM2Base`` runs it
with the SAM 2.1 config: image features, the SAM heads on memory-conditioned features, a mask
prompt taken as the output, memory fusion, and encoding a prediction into a memory.

Objects are a batch: B rows share one frame's features (batch 1 tensors broadcast). The
memory bank itself (which past frames, which pointers) is the sequence predictor's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .sam2 import Sam2

NO_OBJ_SCORE = -1024.0
# As in the SAM 2.1 configs and ``build_sam2_video_predictor``.
NUM_MASKMEM = 7
MAX_OBJ_PTRS = 16
SIGMOID_SCALE_FOR_MEM_ENC = 20.0
SIGMOID_BIAS_FOR_MEM_ENC = -10.0
MASK_AS_OUTPUT_SCALE, MASK_AS_OUTPUT_BIAS = 20.0, -10.0


@dataclass
class FrameFeatures:
    """One frame's image features (batch 1): ``embed`` (1, 256, h, w) without no_mem_embed,
    ``pos`` (1, 256, h, w) its sine position encoding, ``high_res`` ((1, 32, 4h, 4w),
    (1, 64, 2h, 2w)) after conv_s0/conv_s1."""

    embed: Tensor
    pos: Tensor
    high_res: tuple[Tensor, Tensor]

    @property
    def nbytes(self) -> int:
        tensors = (self.embed, *self.high_res)  # pos is one tensor shared by every frame
        return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class HeadOutput:
    """SAM-head results for B objects: ``low_res`` (B, 1, 4h, 4w) and ``high_res`` (B, 1, S, S)
    float32 logits of the chosen mask, ``obj_ptr`` (B, 256), ``score`` (B, 1) object-score
    logits."""

    low_res: Tensor
    high_res: Tensor
    obj_ptr: Tensor
    score: Tensor


class Sam2Tracking:
    """The per-frame steps of SAM 2.1 video tracking on one :class:`Sam2` network."""

    def __init__(self, model: Sam2) -> None:
        self.model = model
        self._pos_cache: dict[tuple, Tensor] = {}

    @property
    def image_size(self) -> int:
        return self.model.img_size

    @torch.inference_mode()
    def frame_features(self, image: Tensor) -> FrameFeatures:
        """Normalised (1, 3, S, S) image -> its features (``SAM2Base.forward_image``)."""
        m = self.model
        fpn = m.image_encoder(image)
        s0 = m.sam_mask_decoder.conv_s0(fpn[0])
        s1 = m.sam_mask_decoder.conv_s1(fpn[1])
        embed = fpn[2]
        key = ("pix", tuple(embed.shape), embed.device, embed.dtype)
        if key not in self._pos_cache:  # the same grid every frame
            self._pos_cache[key] = m.image_encoder.neck.position_encoding(embed).to(embed.dtype)
        return FrameFeatures(embed, self._pos_cache[key], (s0, s1))

    def sam_heads(
        self,
        pix_feat: Tensor,
        high_res: tuple[Tensor, Tensor],
        points: tuple[Tensor, Tensor] | None = None,
        mask_inputs: Tensor | None = None,
        multimask: bool = False,
    ) -> HeadOutput:
        """``SAM2Base._forward_sam_heads``: pix_feat (B, 256, h, w); points (B, P, 2) in
        model-input pixels with (B, P) int labels; mask_inputs (B, 1, ., .) logits or binary."""
        m = self.model
        b, dev = pix_feat.shape[0], pix_feat.device
        if points is None:
            coords = torch.zeros(b, 1, 2, device=dev)
            labels = -torch.ones(b, 1, dtype=torch.int32, device=dev)
        else:
            coords, labels = points
        mask_prompt = None
        if mask_inputs is not None:
            size = m.sam_prompt_encoder.mask_input_size
            mask_prompt = mask_inputs
            if tuple(mask_inputs.shape[-2:]) != tuple(size):
                mask_prompt = F.interpolate(
                    mask_inputs.float(), size=size, mode="bilinear", align_corners=False,
                    antialias=True,
                )  # fmt: skip
        sparse, dense = m.sam_prompt_encoder(points=(coords, labels), boxes=None, masks=mask_prompt)
        low, ious, tokens, score = m.sam_mask_decoder(
            pix_feat,
            m.sam_prompt_encoder.get_dense_pe(),
            sparse,
            dense,
            multimask,
            high_res_features=high_res,
        )
        appearing = score > 0
        low = torch.where(appearing[:, None, None], low, NO_OBJ_SCORE).float()
        token = tokens[:, 0]
        if multimask:
            best = torch.argmax(ious, dim=-1)
            rows = torch.arange(b, device=dev)
            low = low[rows, best].unsqueeze(1)
            if tokens.shape[1] > 1:
                token = tokens[rows, best]
        high = F.interpolate(low, size=(self.image_size,) * 2, mode="bilinear", align_corners=False)
        return HeadOutput(low, high, self._pointer(m.obj_ptr_proj(token), appearing), score)

    def _pointer(self, obj_ptr: Tensor, appearing: Tensor) -> Tensor:
        """``fixed_no_obj_ptr``: objects scored absent get the learned no-object pointer."""
        lam = appearing.to(obj_ptr.dtype)
        return lam * obj_ptr + (1 - lam) * self.model.no_obj_ptr

    def mask_as_output(
        self, pix_feat: Tensor, high_res: tuple[Tensor, Tensor], mask: Tensor
    ) -> HeadOutput:
        """``SAM2Base._use_mask_as_output``: a binary (B, 1, S, S) mask becomes the output
        (logits +-10); its pointer comes from the SAM heads prompted with the downsampled mask.
        pix_feat: the frame's raw features (no memory, no no_mem_embed)."""
        m = self.model
        mask = mask.float()
        high = mask * MASK_AS_OUTPUT_SCALE + MASK_AS_OUTPUT_BIAS
        s = high.shape[-1] // 4
        low = F.interpolate(high, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
        ptr = self.sam_heads(pix_feat, high_res, mask_inputs=m.mask_downsample(mask)).obj_ptr
        appearing = torch.any(mask.flatten(1) > 0.0, dim=1)[:, None]
        score = MASK_AS_OUTPUT_SCALE * appearing.float() + MASK_AS_OUTPUT_BIAS
        return HeadOutput(low, high, self._pointer(ptr, appearing), score)

    def fuse_memory(
        self,
        feats: FrameFeatures,
        batch: int,
        memory: Tensor | None,
        memory_pos: Tensor | None,
        num_ptr_tokens: int,
    ) -> Tensor:
        """The frame's features conditioned on the memory bank -> (B, 256, h, w).

        memory None: an initial conditioning frame, which gets no_mem_embed added instead
        (``directly_add_no_mem_embed``). memory / memory_pos (B, M, 64).
        """
        m = self.model
        _, c, h, w = feats.embed.shape
        if memory is None:
            out = feats.embed + m.no_mem_embed.view(1, -1, 1, 1)
            return out.expand(batch, -1, -1, -1)
        curr = feats.embed.flatten(2).transpose(1, 2).expand(batch, -1, -1)
        pos = feats.pos.flatten(2).transpose(1, 2)
        out = m.memory_attention(curr, pos, memory, memory_pos, num_ptr_tokens)
        return out.transpose(1, 2).reshape(batch, c, h, w)

    def encode_memory(
        self, feats: FrameFeatures, high_res_masks: Tensor, score: Tensor, binarize: bool
    ) -> tuple[Tensor, Tensor]:
        """``SAM2Base._encode_new_memory``: (B, 1, S, S) mask logits -> memory features
        (B, 64, h, w) and their position encoding (1, 64, h, w). ``binarize``: the mask came
        from clicks (``binarize_mask_from_pts_for_mem_enc``), so it is thresholded, not
        sigmoided."""
        m = self.model
        b = high_res_masks.shape[0]
        pix = feats.embed.expand(b, -1, -1, -1)
        mask = (high_res_masks > 0).float() if binarize else torch.sigmoid(high_res_masks)
        mask = mask * SIGMOID_SCALE_FOR_MEM_ENC + SIGMOID_BIAS_FOR_MEM_ENC
        enc = m.memory_encoder
        x = enc.pix_feat_proj(pix) + enc.mask_downsampler(mask.to(pix.dtype))
        x = enc.out_proj(enc.fuser(x))
        absent = (score <= 0).to(x.dtype)[..., None, None]
        x = x + absent * m.no_obj_embed_spatial[..., None, None]
        key = ("mem", tuple(x.shape[1:]), x.device, x.dtype)
        if key not in self._pos_cache:
            self._pos_cache[key] = enc.position_encoding(x[:1]).to(x.dtype)
        return x, self._pos_cache[key]

    def pointer_positions(self, rel: Tensor, max_ptrs: int) -> Tensor:
        """(P,) signed frame distances -> (P, 64) pointer position encodings (1-D sine over
        distance / (max_ptrs - 1), projected by ``obj_ptr_tpos_proj``)."""
        m = self.model
        dim = m.no_obj_ptr.shape[-1]
        t = rel.float() / max(max_ptrs - 1, 1)
        half = dim // 2
        dim_t = torch.arange(half, dtype=torch.float32, device=t.device)
        dim_t = 10000 ** (2 * (dim_t // 2) / half)
        pe = t.unsqueeze(-1) / dim_t
        pe = torch.cat([pe.sin(), pe.cos()], dim=-1).to(m.obj_ptr_tpos_proj.weight.dtype)
        return m.obj_ptr_tpos_proj(pe)
