"""Promptable predictor with the API of ``segment_anything.SamPredictor``.

Encode an image once with :meth:`Predictor.set_image`, then call :meth:`Predictor.predict` for
every click or box. All numpy coordinates are xy in original-image pixels; ``predict_torch``
takes batched prompts already mapped to model-input pixels with ``predictor.transform``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from annotator.engine.errors import ThinImageWarning
from annotator.engine.modeling.sam import Sam
from annotator.engine.modeling.sam2 import Sam2

from .image_state import ImageState, as_rgb_uint8
from .prompt_values import finite_array, finite_tensor, labels_array

__all__ = ["ImageState", "Predictor"]

_NOT_SET = "call set_image first: no image is set on this Predictor"


@dataclass
class _Prompts:
    coords: torch.Tensor | None
    labels: torch.Tensor | None
    boxes: torch.Tensor | None
    masks: torch.Tensor | None


MIN_MODEL_SIDE = 32
"""Short side, in model-input pixels, under which an image's objects mostly vanish."""


def warn_if_thin(original: tuple[int, int], resized: tuple[int, int]) -> None:
    """ThinImageWarning when (h, w) ``resized`` (model input) has a side under MIN_MODEL_SIDE."""
    if min(resized) < MIN_MODEL_SIDE:
        warnings.warn(
            f"the {original[1]}x{original[0]} image is only {resized[1]}x{resized[0]} pixels at "
            f"the model's resolution (short side under {MIN_MODEL_SIDE}), so masks will be empty "
            "or coarse; cut it into tiles of a more even shape and annotate those",
            ThinImageWarning,
            stacklevel=3,
        )


class Predictor:
    """Mask prediction from point, box and mask prompts on one image at a time.

    ``model.prompt_hint`` says which prompts the model was trained for: "boxes" for the bundled
    LiteMedSAM (points alone give weak masks), "points_and_boxes" for SAM and MobileSAM.

    ``decoder`` picks what runs the prompt encoder + mask decoder: "auto" (default, or the
    ``ANNOTATOR_DECODER`` environment variable): for float32 models on the CPU, ONNX Runtime's
    session is exported from the loaded weights in the background at the first predict (torch
    until it is ready, and wherever onnxruntime is missing or fails), then the first clicks
    alternate between it and torch and the faster one keeps the rest (see ``onnx/race.py``);
    "onnx": ONNX Runtime, the first predict waiting for the session; "torch": always torch.
    Outputs agree within the parity bars (see tests/engine/onnx).
    """

    def __init__(self, model: Sam | Sam2, decoder: str | None = None) -> None:
        from annotator.engine.onnx.runtime import MODES, default_mode

        mode = default_mode() if decoder is None else decoder
        if mode not in MODES:
            raise ValueError(f"decoder must be one of {', '.join(MODES)}, got {decoder!r}")
        self.model = model
        self.decoder = mode
        self.transform = model.make_transform()
        self.reset_image()

    # -- image ---------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.model.device

    def reset_image(self) -> None:
        """Forget the current image and its embedding."""
        self.is_image_set = False
        self.features: torch.Tensor | None = None
        self.high_res_features: tuple[torch.Tensor, ...] | None = None
        self.original_size: tuple[int, int] | None = None
        self.input_size: tuple[int, int] | None = None
        self._decoder_cache: dict[str, Any] | None = None

    def set_image(self, image: np.ndarray, image_format: str = "RGB") -> None:
        """Compute the embedding of ``image`` (slow: runs the image encoder once).

        image: (H, W) gray, (H, W, 3) or (H, W, 4) (alpha dropped) numpy array, uint8 or uint16
        (scaled to 8 bits), any size. image_format: "RGB" or "BGR" (channel order of ``image``).
        """
        if image_format not in ("RGB", "BGR"):
            raise ValueError(f"image_format must be 'RGB' or 'BGR', got {image_format!r}")
        rgb = as_rgb_uint8(image)
        if image_format == "BGR":
            rgb = np.ascontiguousarray(rgb[..., ::-1])
        resized = self.transform.apply_image(rgb)
        warn_if_thin(rgb.shape[:2], resized.shape[:2])
        tensor = torch.as_tensor(resized, device=self.device).permute(2, 0, 1)[None]
        self.set_torch_image(tensor, rgb.shape[:2])

    @torch.inference_mode()
    def set_torch_image(
        self, transformed_image: torch.Tensor, original_image_size: tuple[int, ...]
    ) -> None:
        """(1, 3, h, w) image already resized by ``transform.apply_image`` (0-255 values for
        SAM 1, a 1024x1024 square on the 0-1 scale for SAM 2)."""
        if (
            transformed_image.ndim != 4
            or transformed_image.shape[:2] != (1, 3)
            or max(transformed_image.shape[2:]) != self.model.img_size
        ):
            raise ValueError(
                f"set_torch_image expects (1, 3, h, w) with long side {self.model.img_size}, "
                f"got {tuple(transformed_image.shape)}"
            )
        self.reset_image()
        features, high_res = self.model.encode_image(self.model.preprocess(transformed_image))
        self.features = features
        self.high_res_features = high_res
        self.original_size = (int(original_image_size[0]), int(original_image_size[1]))
        self.input_size = (int(transformed_image.shape[2]), int(transformed_image.shape[3]))
        self.is_image_set = True

    def get_image_embedding(self) -> torch.Tensor:
        """(1, 256, 64, 64) embedding of the current image."""
        if not self.is_image_set or self.features is None:
            raise RuntimeError(_NOT_SET)
        return self.features

    def get_image_state(self) -> ImageState:
        """Everything ``set_image`` computed, to cache and restore with :meth:`set_image_state`."""
        if not self.is_image_set or self.features is None:
            raise RuntimeError(_NOT_SET)
        assert self.original_size is not None and self.input_size is not None
        return ImageState(
            self.features,
            self.original_size,
            self.input_size,
            self.model.model_id,
            high_res_features=self.high_res_features,
        )

    def set_image_state(self, state: ImageState) -> None:
        """Restore an image state from :meth:`get_image_state` (skips the image encoder)."""
        if not isinstance(state, ImageState):
            raise TypeError(f"expected an ImageState, got {type(state).__name__}")
        if state.model_id != self.model.model_id:
            raise ValueError(
                f"image state was computed by model {state.model_id!r}, "
                f"this predictor runs {self.model.model_id!r}"
            )
        features = torch.as_tensor(state.features).to(self.device, self.model.dtype)
        high_res = None
        if state.high_res_features is not None:
            high_res = tuple(
                torch.as_tensor(f).to(self.device, self.model.dtype)
                for f in state.high_res_features
            )
        elif getattr(self.model, "low_res_clamp", None) is not None:  # a SAM 2 model
            raise ValueError("image state has no high-resolution features, which SAM 2 needs")
        self.reset_image()
        self.features = features
        self.high_res_features = high_res
        self.original_size = tuple(state.original_size)  # type: ignore[assignment]
        self.input_size = tuple(state.input_size)  # type: ignore[assignment]
        self.is_image_set = True

    # -- prompts -------------------------------------------------------------------------------
    def predict(
        self,
        point_coords: np.ndarray | None = None,
        point_labels: np.ndarray | None = None,
        box: np.ndarray | None = None,
        mask_input: np.ndarray | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks for one prompt set on the current image.

        point_coords (N, 2) xy original-image pixels; point_labels (N,) 1 foreground, 0
        background; box (4,) XYXY original-image pixels; mask_input (1, 256, 256) low-res logits
        from an earlier call. Returns masks (C, H, W) bool (float32 logits if ``return_logits``),
        scores (C,) float32 and low-res logits (C, 256, 256) float32; C is 3 with
        ``multimask_output`` and 1 without.
        """
        if not self.is_image_set:
            raise RuntimeError(_NOT_SET)
        p = self._numpy_prompts(point_coords, point_labels, box, mask_input)
        masks, scores, low_res = self._predict(p, multimask_output, return_logits)
        return masks[0].cpu().numpy(), scores[0].cpu().numpy(), low_res[0].cpu().numpy()

    def predict_torch(
        self,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        boxes: torch.Tensor | None = None,
        mask_input: torch.Tensor | None = None,
        multimask_output: bool = True,
        return_logits: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batched prompts in model-input pixels (map them with ``transform.apply_*_torch``).

        point_coords (B, N, 2), point_labels (B, N), boxes (B, 4) XYXY, mask_input
        (B, 1, 256, 256). Returns masks (B, C, H, W) bool (or float logits), scores (B, C),
        low-res logits (B, C, 256, 256), all float32/bool on the model's device.
        """
        if not self.is_image_set:
            raise RuntimeError(_NOT_SET)
        p = self._torch_prompts(point_coords, point_labels, boxes, mask_input)
        return self._predict(p, multimask_output, return_logits)

    @torch.inference_mode()
    def _predict(
        self, p: _Prompts, multimask_output: bool, return_logits: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        model = self.model
        pe = model.prompt_encoder
        cache = None
        if p.masks is None:
            if self._decoder_cache is None:
                no_mask = pe.no_mask_embed.weight.reshape(1, -1, 1, 1)
                self._decoder_cache = model.mask_decoder.image_cache(
                    self.features,
                    pe.get_dense_pe(),
                    no_mask.expand(1, -1, *pe.image_embedding_size),
                )
            cache = self._decoder_cache
        dec, race = self._onnx_path(p)
        start = time.perf_counter()
        out = None
        if dec is not None:
            assert self.features is not None
            wait = self.decoder == "onnx"
            out = dec.decode(p.coords, p.labels, p.boxes, p.masks, self.features, cache, wait)
        if out is not None:
            sl = slice(1, None) if multimask_output else slice(0, 1)
            low_res, scores = out[0][:, sl], out[1][:, sl]
        else:
            sparse, dense = model.embed_prompts(p.coords, p.labels, p.boxes, p.masks)
            low_res, scores = model.decode(
                self.features, self.high_res_features, sparse, dense, multimask_output, cache
            )
        if race is not None:
            race.record("torch" if out is None else "onnx", time.perf_counter() - start)
        low_res = low_res.float()
        assert self.input_size is not None and self.original_size is not None
        if return_logits:
            masks = model.postprocess_masks(low_res, self.input_size, self.original_size)
        else:
            masks = model.postprocess_to_masks(low_res, self.input_size, self.original_size)
        clamp = getattr(model, "low_res_clamp", None)
        if clamp is not None:  # SAM 2 clamps the logits it returns, after upsampling the masks
            low_res = low_res.clamp(-clamp, clamp)
        return masks, scores.float(), low_res

    def prepare_decoder(
        self, cache_dir: Path | None = None, isolated: bool = False, block: bool = True
    ) -> bool:
        """Build the ONNX Runtime decoder sessions now rather than at the first predict (see
        ``OnnxDecoder.prepare``: graphs cached in ``cache_dir``, exported by a child process
        with ``isolated``, not waited for without ``block``). True when clicks will run in ONNX
        Runtime; False with ``decoder="torch"`` or where ONNX Runtime cannot run this model."""
        if self.decoder == "torch":
            return False
        from annotator.engine.onnx.runtime import onnx_decoder

        dec = onnx_decoder(self.model)
        return dec is not None and dec.prepare(cache_dir, isolated, block)

    @property
    def active_decoder(self) -> str:
        """What runs the clicks now: "torch", "onnx", or "measuring" while ``auto`` times both
        (also "torch" while ONNX Runtime's session is still being built)."""
        if self.decoder == "torch":
            return "torch"
        from annotator.engine.onnx.runtime import onnx_decoder

        dec = onnx_decoder(self.model)
        if dec is None or not dec.click_session_built:
            return "torch"
        if self.decoder == "onnx":
            return "onnx"
        return dec.race.winner or "measuring"

    def _onnx_path(self, p: _Prompts) -> tuple[Any, Any]:
        """The model's OnnxDecoder to run these prompts (None: torch), and the ``auto`` race
        to report this click's time to (None once decided, or outside ``auto``)."""
        if self.decoder == "torch":
            return None, None
        from annotator.engine.onnx.runtime import onnx_decoder

        dec = onnx_decoder(self.model)
        if dec is None:
            return None, None
        if self.decoder == "onnx":
            return dec, None
        if not dec.ready(p.coords, p.boxes, p.masks):
            return None, None  # torch until the session is built
        race = dec.race if dec.race.winner is None else None
        return (dec if dec.race.next() == "onnx" else None), race

    # -- validation ----------------------------------------------------------------------------
    def _numpy_prompts(self, coords, labels, box, mask_input) -> _Prompts:
        assert self.original_size is not None
        dev = self.device
        out = _Prompts(None, None, None, None)
        if (coords is None) != (labels is None):
            raise ValueError("point_coords and point_labels must be given together")
        if coords is not None:
            c = finite_array(coords, "point_coords")
            if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] == 0:
                raise ValueError(f"point_coords must have shape (N, 2), got {c.shape}")
            lab = labels_array(labels, c.shape[0])
            c = self.transform.apply_coords(c, self.original_size)
            out.coords = torch.as_tensor(c, dtype=torch.float, device=dev)[None]
            out.labels = torch.as_tensor(lab, dtype=torch.int, device=dev)[None]
        if box is not None:
            b = finite_array(box, "box")
            if b.size != 4 or b.ndim > 2 or (b.ndim == 2 and b.shape[0] != 1):
                raise ValueError(f"box must have shape (4,) XYXY, got {b.shape}")
            b = self.transform.apply_boxes(b.reshape(4), self.original_size)
            out.boxes = torch.as_tensor(b, dtype=torch.float, device=dev)
        if mask_input is not None:
            m = finite_array(mask_input, "mask_input")
            if m.shape == (256, 256):
                m = m[None]
            if m.shape != (1, 256, 256):
                raise ValueError(f"mask_input must have shape (1, 256, 256), got {m.shape}")
            out.masks = torch.as_tensor(m, dtype=torch.float, device=dev)[None]
        if out.coords is None and out.boxes is None and out.masks is None:
            raise ValueError("give at least one prompt: point_coords, box or mask_input")
        return out

    def _torch_prompts(self, coords, labels, boxes, masks) -> _Prompts:
        dev = self.device
        sizes = []
        if (coords is None) != (labels is None):
            raise ValueError("point_coords and point_labels must be given together")
        if coords is not None:
            coords = finite_tensor(coords, "point_coords").to(dev, torch.float)
            labels = torch.as_tensor(labels, device=dev)
            if coords.ndim != 3 or coords.shape[2] != 2:
                raise ValueError(
                    f"point_coords must have shape (B, N, 2), got {tuple(coords.shape)}"
                )
            if labels.shape != coords.shape[:2]:
                raise ValueError(
                    f"point_labels must have shape {tuple(coords.shape[:2])}, "
                    f"got {tuple(labels.shape)}"
                )
            if not torch.all((labels == 0) | (labels == 1)):
                raise ValueError("point_labels must be 0 (background) or 1 (foreground)")
            labels = labels.to(torch.int)
            sizes.append(coords.shape[0])
        if boxes is not None:
            boxes = finite_tensor(boxes, "boxes").to(dev, torch.float)
            if boxes.ndim != 2 or boxes.shape[1] != 4:
                raise ValueError(f"boxes must have shape (B, 4), got {tuple(boxes.shape)}")
            sizes.append(boxes.shape[0])
        if masks is not None:
            masks = finite_tensor(masks, "mask_input").to(dev, torch.float)
            if masks.ndim != 4 or masks.shape[1:] != (1, 256, 256):
                raise ValueError(
                    f"mask_input must have shape (B, 1, 256, 256), got {tuple(masks.shape)}"
                )
            sizes.append(masks.shape[0])
        if not sizes:
            raise ValueError("give at least one prompt: point_coords, boxes or mask_input")
        if len(set(sizes)) > 1:
            raise ValueError(f"prompt batch sizes differ: {sizes}")
        return _Prompts(coords, labels, boxes, masks)
