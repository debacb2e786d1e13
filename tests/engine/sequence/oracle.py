"""Meta's SAM2VideoPredictor as the test-only oracle, and a short sequence made from a photo.

The oracle is built from Meta's Hiera-T SAM 2.1 config (``build_sam2_video_predictor``, its
post-processing defaults on) with nothing downloaded, seeded, every parameter perturbed, and
corrections made conditioning frames (``add_all_frames_to_correct_as_cond``), the semantics
our predictor chose. Meta fills small mask holes with its CUDA extension, which a CPU install
lacks (it then skips the step with a warning); the oracle gets an 8-connected labelling in its
place so that both sides fill holes.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from tests.engine.oracles import perturb_, sample_image

CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"


def connected_components(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Meta's ``get_connected_components`` contract: (N, 1, H, W) binary -> per-pixel
    component labels and component areas (0 on background), 8-connectivity."""
    labels = torch.zeros(mask.shape, dtype=torch.int32)
    counts = torch.zeros(mask.shape, dtype=torch.int32)
    for i in range(mask.shape[0]):
        m = mask[i, 0].to(torch.uint8).cpu().numpy()
        _, lab, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        area = stats[:, cv2.CC_STAT_AREA].copy()
        area[0] = 0
        labels[i, 0] = torch.from_numpy(lab.astype(np.int32))
        counts[i, 0] = torch.from_numpy(area[lab].astype(np.int32))
    return labels, counts


def build_oracle(image_size: int, seed: int = 5):
    import sam2.utils.misc as misc
    from sam2.build_sam import build_sam2_video_predictor

    misc.get_connected_components = connected_components
    torch.manual_seed(0)
    ref = build_sam2_video_predictor(
        CONFIG,
        ckpt_path=None,
        device="cpu",
        hydra_overrides_extra=[
            f"++model.image_size={image_size}",
            "++model.add_all_frames_to_correct_as_cond=true",
        ],
    )
    return perturb_(ref, seed=seed)


def moving_crop_frames(folder: Path, n: int = 10, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """(n, H, W, 3) uint8 frames: a crop of a sample photo moving right and down, written to
    ``folder`` as 0.jpg, 1.jpg, ... (the only layout Meta's loader reads) and returned as
    decoded back by Pillow, so both predictors see the very same pixels."""
    photo = sample_image("astronaut")
    h, w = size
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for i in range(n):
        y, x = 4 * i, 7 * i
        crop = cv2.resize(photo, (2 * w, 2 * h))[y : y + h, x : x + w]
        Image.fromarray(np.ascontiguousarray(crop)).save(folder / f"{i}.jpg", quality=95)
        frames.append(np.array(Image.open(folder / f"{i}.jpg").convert("RGB")))
    return np.stack(frames)
