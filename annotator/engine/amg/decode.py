"""SAM's mask decoder run in two stages for automatic mask generation.

The decoder's predicted IoU comes from the transformer's IoU token alone; the masks need the
output upscaling (two transposed convolutions over the whole 64x64 image grid per prompt), its
most expensive part after the transformer. Stage one runs the transformer for every prompt and
returns the IoU predictions; stage two upscales only the prompts that have a mask passing the
IoU filter. Same arithmetic as ``MaskDecoder.forward`` with ``multimask_output=True``, using the
official submodules, so it works with our engine and with segment-anything's modules alike.
SAM 2's decoder (an object-score token before the IoU token, skip features while upscaling) is
run whole, with the per-image transformer inputs computed once. `TwoStageDecoder.refine` is
SAM 2's "m2m" step: each mask fed back as the mask prompt with its point, one mask out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class DecodedTokens:
    """Stage-one output for B prompts, C outputs each (3 with multimask output, else 1)."""

    iou_preds: torch.Tensor  # (B, C) float32
    mask_tokens: torch.Tensor | None  # (B, C, D) transformer outputs of the used mask tokens
    src: torch.Tensor | None  # (B, h*w, D) image keys after the transformer
    chw: tuple[int, int, int]  # (D, h, w) of the image embedding
    low_res: torch.Tensor | None = None  # (B, C, 4h, 4w): a decoder that cannot be split
    first_token: int = 1  # hypernetwork of mask_tokens[:, 0] (1: multimask, 0: single mask)


class TwoStageDecoder:
    """Decode single-point prompts on the predictor's current image (see the module doc)."""

    def __init__(self, predictor: Any) -> None:
        self.predictor = predictor
        self.model = predictor.model
        self.decoder = self.model.mask_decoder
        self._cache: dict[str, Any] | None = None
        # Any other decoder (same call, different insides) is run whole, and so is SAM 2's
        # (an object-score token before the IoU token, and skip features while upscaling).
        self.splittable = not hasattr(self.decoder, "conv_s0") and all(
            hasattr(self.decoder, name)
            for name in ("transformer", "iou_token", "mask_tokens", "output_upscaling")
        )

    def reset(self) -> None:
        """Forget the per-image cache; call after each `set_image`."""
        self._cache = None

    def tokens(
        self, points: torch.Tensor, labels: torch.Tensor, multimask_output: bool = True
    ) -> DecodedTokens:
        """(B, N, 2) xy in model-input pixels, (B, N) labels -> IoU predictions and tokens."""
        model, dec = self.model, self.decoder
        features = self.predictor.features
        sparse, dense = model.prompt_encoder(points=(points, labels), boxes=None, masks=None)
        image_pe = model.prompt_encoder.get_dense_pe()
        chw = tuple(features.shape[1:])
        if not self.splittable:
            if hasattr(model, "decode"):  # our networks: SAM 2 needs its high-res features
                high_res = getattr(self.predictor, "high_res_features", None)
                if self._cache is None and hasattr(dec, "image_cache"):
                    self._cache = dec.image_cache(features, image_pe, dense[:1])
                low_res, iou = model.decode(
                    features, high_res, sparse, dense, multimask_output, self._cache
                )
            else:
                low_res, iou = dec(features, image_pe, sparse, dense, multimask_output)
            return DecodedTokens(iou.float(), None, None, chw, low_res.float())  # type: ignore[arg-type]
        b = sparse.shape[0]
        out_tokens = torch.cat([dec.iou_token.weight, dec.mask_tokens.weight], dim=0)
        tokens = torch.cat((out_tokens.unsqueeze(0).expand(b, -1, -1), sparse), dim=1)
        transformer = dec.transformer
        if hasattr(transformer, "image_cache"):
            # Our engine: the prompt-independent first-layer work is done once per image.
            if self._cache is None:
                self._cache = transformer.image_cache(features + dense[:1], image_pe)
            hs, src = transformer(None, None, tokens, cache=self._cache)
        else:
            src = torch.repeat_interleave(features, b, dim=0) + dense
            pos = torch.repeat_interleave(image_pe, b, dim=0)
            hs, src = transformer(src, pos, tokens)
        n_mask = dec.num_mask_tokens
        iou = dec.iou_prediction_head(hs[:, 0, :])
        # Mask token 0 is the single-mask output, tokens 1.. the multimask outputs.
        first = 1 if multimask_output else 0
        stop = 1 + n_mask if multimask_output else 2
        iou = iou[:, first : stop - 1]
        mask_tokens = hs[:, 1 + first : stop, :]
        return DecodedTokens(iou.float(), mask_tokens, src, chw, first_token=first)  # type: ignore[arg-type]

    def refine(
        self, points: torch.Tensor, labels: torch.Tensor, low_res: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One mask-to-mask step: (n, N, 2) points in model-input pixels, (n, N) labels and
        (n, 4h, 4w) low-res logits fed back as mask prompts -> refined low-res logits
        (n, 4h, 4w) and IoU predictions (n,), float32, single-mask output. The logits are
        clamped first where the model clamps what it returns (SAM 2: +-32), as the reference
        feeds back the predictor's returned logits."""
        model = self.model
        mask_input = low_res[:, None].float()
        clamp = getattr(model, "low_res_clamp", None)
        if clamp is not None:
            mask_input = mask_input.clamp(-clamp, clamp)
        if hasattr(model, "embed_prompts"):  # our networks
            sparse, dense = model.embed_prompts(points, labels, None, mask_input)
            high_res = getattr(self.predictor, "high_res_features", None)
            out, iou = model.decode(self.predictor.features, high_res, sparse, dense, False)
        else:
            _, iou, out = self.predictor.predict_torch(
                points, labels, mask_input=mask_input, multimask_output=False, return_logits=True
            )
        return out[:, 0].float(), iou[:, 0].float()

    def masks(self, decoded: DecodedTokens, prompts: torch.Tensor) -> torch.Tensor:
        """Low-res logits (n, C, 4h, 4w) float32 for the prompts at indices `prompts` (n,)."""
        if decoded.low_res is not None:
            return decoded.low_res[prompts]
        assert decoded.src is not None and decoded.mask_tokens is not None
        dec = self.decoder
        d, h, w = decoded.chw
        tokens = decoded.mask_tokens[prompts]
        hyper = torch.stack(
            [
                dec.output_hypernetworks_mlps[i + decoded.first_token](tokens[:, i, :])
                for i in range(tokens.shape[1])
            ],
            dim=1,
        )
        src = decoded.src[prompts]
        fused = getattr(dec, "_upscale_and_project", None)
        if fused is not None:
            # Our engine's upscaling as per-token matmuls (same arithmetic, no spatial copies).
            return fused(src, h, w, hyper).float()
        upscaled = dec.output_upscaling(src.transpose(1, 2).reshape(-1, d, h, w))
        n, du, hu, wu = upscaled.shape
        return (hyper @ upscaled.view(n, du, hu * wu)).view(n, -1, hu, wu).float()
