"""Synthetic sequences for the `annotator track` tests (a square moving right, a still corner)
and the random-weight SAM 2.1 Hiera-T checkpoint they track with."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

H, W = 96, 128
FRAMES = 4


def square(i: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[30:60, 10 + 8 * i : 40 + 8 * i] = True
    return mask


def corner() -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[70:90, 90:120] = True
    return mask


def frame(i: int) -> np.ndarray:
    image = np.full((H, W, 3), 40, np.uint8)
    image[square(i)] = (220, 180, 30)
    image[corner()] = (30, 90, 200)
    return image


def write_clip(folder: Path, first: int = 0) -> Path:
    """FRAMES frames ``00000.png``... into `folder`, the square starting at step `first`."""
    folder.mkdir(parents=True)
    for i in range(FRAMES):
        image = cv2.cvtColor(frame(first + i), cv2.COLOR_RGB2BGR)
        cv2.imwrite(str(folder / f"{i:05d}.png"), image)
    return folder


def save_checkpoint(folder: Path) -> Path:
    """Seeded random SAM 2.1 Hiera-T weights, every parameter perturbed, as Meta ships them,
    saved under the official file name."""
    from annotator.engine.modeling.sam2 import SAM2_CONFIGS
    from annotator.engine.weights.load import build_network
    from tests.engine.oracles import perturb_

    torch.manual_seed(0)
    net = perturb_(build_network(SAM2_CONFIGS["sam2.1_hiera_t"]), seed=1)
    path = folder / "sam2.1_hiera_tiny.pt"
    torch.save({"model": net.state_dict()}, path)
    return path
