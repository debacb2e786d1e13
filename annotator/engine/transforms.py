"""Resize-longest-side transforms between original-image pixels and model-input pixels.

SAM models resize with PIL's bilinear filter (what ``segment_anything`` does) and scale x and y by
the rounded new width/height. LiteMedSAM follows its authors' pipeline: cv2.INTER_AREA and one
uniform factor ``target / max(H, W)`` for boxes and points.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

Interpolation = Literal["pil_bilinear", "cv2_area"]


class ResizeLongestSide:
    """Resize so the longest side is ``target_length``; map coordinates the same way.

    Coordinates are xy pixels; ``original_size`` is (H, W) of the original image.
    """

    def __init__(
        self,
        target_length: int,
        interpolation: Interpolation = "pil_bilinear",
        uniform_scale: bool = False,
    ) -> None:
        self.target_length = target_length
        self.interpolation = interpolation
        self.uniform_scale = uniform_scale

    @staticmethod
    def get_preprocess_shape(oldh: int, oldw: int, long_side_length: int) -> tuple[int, int]:
        """(H, W) after resizing so the longest side is ``long_side_length`` (rounded)."""
        scale = long_side_length * 1.0 / max(oldh, oldw)
        return int(oldh * scale + 0.5), int(oldw * scale + 0.5)

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (h, w, 3) uint8 with max(h, w) == target_length."""
        h, w = self.get_preprocess_shape(image.shape[0], image.shape[1], self.target_length)
        if self.interpolation == "cv2_area":
            return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        return np.array(Image.fromarray(image).resize((w, h), Image.BILINEAR))

    def _factors(self, original_size: tuple[int, int]) -> tuple[float, float]:
        old_h, old_w = original_size
        if self.uniform_scale:
            s = self.target_length / max(old_h, old_w)
            return s, s
        new_h, new_w = self.get_preprocess_shape(old_h, old_w, self.target_length)
        return new_w / old_w, new_h / old_h

    def apply_coords(self, coords: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """(..., 2) xy original pixels -> float64 model-input pixels (a new array)."""
        fx, fy = self._factors(original_size)
        out = np.array(coords, dtype=np.float64, copy=True)
        out[..., 0] *= fx
        out[..., 1] *= fy
        return out

    def apply_boxes(self, boxes: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """(B, 4) or (4,) XYXY original pixels -> (B, 4) model-input pixels."""
        return self.apply_coords(np.asarray(boxes).reshape(-1, 2, 2), original_size).reshape(-1, 4)

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float -> resized (antialiased bilinear; may differ from apply_image)."""
        size = self.get_preprocess_shape(image.shape[2], image.shape[3], self.target_length)
        return F.interpolate(image, size, mode="bilinear", align_corners=False, antialias=True)

    def apply_coords_torch(
        self, coords: torch.Tensor, original_size: tuple[int, int]
    ) -> torch.Tensor:
        """(..., 2) xy original pixels -> float32 model-input pixels (a new tensor)."""
        fx, fy = self._factors(original_size)
        return coords.to(torch.float) * coords.new_tensor([fx, fy], dtype=torch.float)

    def apply_boxes_torch(
        self, boxes: torch.Tensor, original_size: tuple[int, int]
    ) -> torch.Tensor:
        """(B, 4) XYXY original pixels -> (B, 4) model-input pixels."""
        return self.apply_coords_torch(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)


class ResizeSquare:
    """SAM 2's input transform: the whole image squashed to ``size`` x ``size`` (no aspect
    ratio kept, no padding), on the 0-1 scale, bilinear with antialiasing as torchvision's
    ``Resize`` on a tensor; coordinates are scaled by ``size / W`` and ``size / H``.
    """

    interpolation = "torch_bilinear_antialias"

    def __init__(self, size: int = 1024) -> None:
        self.target_length = size

    def get_preprocess_shape(self, oldh: int, oldw: int, long_side_length: int) -> tuple[int, int]:
        return long_side_length, long_side_length

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (size, size, 3) float32 on the 0-1 scale (a channels-last view)."""
        t = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).contiguous()
        return self.apply_image_torch(t[None].float().div(255))[0].permute(1, 2, 0).numpy()

    def apply_image_torch(self, image: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float -> (B, C, size, size)."""
        size = (self.target_length, self.target_length)
        return F.interpolate(image, size, mode="bilinear", align_corners=False, antialias=True)

    def apply_coords(self, coords: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """(..., 2) xy original pixels -> model-input pixels (float32, as the reference)."""
        h, w = original_size
        out = np.array(coords, dtype=np.float32, copy=True)
        out[..., 0] = out[..., 0] / np.float32(w)
        out[..., 1] = out[..., 1] / np.float32(h)
        return out * np.float32(self.target_length)

    def apply_boxes(self, boxes: np.ndarray, original_size: tuple[int, int]) -> np.ndarray:
        """(B, 4) or (4,) XYXY original pixels -> (B, 4) model-input pixels."""
        return self.apply_coords(np.asarray(boxes).reshape(-1, 2, 2), original_size).reshape(-1, 4)

    def apply_coords_torch(
        self, coords: torch.Tensor, original_size: tuple[int, int]
    ) -> torch.Tensor:
        h, w = original_size
        c = coords.to(torch.float).clone()
        c[..., 0] = c[..., 0] / w
        c[..., 1] = c[..., 1] / h
        return c * self.target_length

    def apply_boxes_torch(
        self, boxes: torch.Tensor, original_size: tuple[int, int]
    ) -> torch.Tensor:
        return self.apply_coords_torch(boxes.reshape(-1, 2, 2), original_size).reshape(-1, 4)
