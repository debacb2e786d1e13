"""Image input normalisation and the cacheable per-image state of a predictor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """(H, W) gray, (H, W, 1), (H, W, 3) or (H, W, 4) uint8/uint16 -> (H, W, 3) uint8.

    uint16 is scaled to 8 bits (x / 257, rounded); a 4th (alpha) channel is dropped.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"image must be (H, W) gray, (H, W, 3) or (H, W, 4), got shape {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty (shape {image.shape})")
    if image.dtype == np.uint16:
        image = ((image.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ValueError(
            f"image must be uint8 or uint16, got {image.dtype} (convert floats in [0, 1] with "
            "(image * 255).round().astype(np.uint8))"
        )
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    return np.ascontiguousarray(image)


@dataclass
class ImageState:
    """What ``Predictor.set_image`` computes for one image, restorable without re-encoding.

    features: (1, 256, 64, 64) embedding, a torch tensor or a numpy array (see ``to_numpy``);
    original_size / input_size: (H, W) of the original and of the resized (unpadded) image;
    model_id: the model that computed it (``set_image_state`` refuses another model's state);
    high_res_features: SAM 2 only, the decoder's skip features ((1, 32, 256, 256),
    (1, 64, 128, 128)) after conv_s0 / conv_s1; None for SAM 1 models.
    """

    features: torch.Tensor | np.ndarray
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    model_id: str
    high_res_features: tuple | None = None

    @property
    def nbytes(self) -> int:
        return sum(_nbytes(f) for f in (self.features, *(self.high_res_features or ())))

    def to_numpy(self) -> ImageState:
        """A copy with float32 numpy features (device-free, picklable)."""
        high = self.high_res_features
        return ImageState(
            _to_numpy(self.features),
            self.original_size,
            self.input_size,
            self.model_id,
            None if high is None else tuple(_to_numpy(f) for f in high),
        )

    def to(self, device: str | torch.device) -> ImageState:
        """A copy with torch features on ``device``."""
        high = self.high_res_features
        return ImageState(
            torch.as_tensor(self.features).to(device),
            self.original_size,
            self.input_size,
            self.model_id,
            None if high is None else tuple(torch.as_tensor(f).to(device) for f in high),
        )


def _nbytes(f: torch.Tensor | np.ndarray) -> int:
    return int(f.nbytes if isinstance(f, np.ndarray) else f.numel() * f.element_size())


def _to_numpy(f: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(f, torch.Tensor):
        f = f.detach().float().cpu().numpy()
    return np.asarray(f, np.float32)
