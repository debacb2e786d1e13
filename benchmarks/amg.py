"""Automatic mask generation speed against the reference generators: segment-anything's
SamAutomaticMaskGenerator (MobileSAM-sized TinyViT, `vit_t`) and sam2's
SAM2AutomaticMaskGenerator (SAM 2.1 Hiera-T, `sam2.1_hiera_t`).

Same weights (perturbed random weights built with the reference code and loaded into our engine
from the same saved checkpoint; the official files cannot be downloaded here), same photo, same
run. Reference and ours alternate run by run so load on a shared machine hits both alike. Ours
runs as `annotator amg` does (default precision: a bf16 encoder on CPUs with native bf16).
Settings:
- "defaults": the family's defaults (pred_iou_thresh 0.88 SAM / 0.8 SAM 2.1, stability 0.95;
  random weights let few masks through);
- "relaxed": both thresholds 0, so every mask is postprocessed, as with a trained model on a
  busy photo where many candidates pass;
- "m2m" (SAM 2.1 only): relaxed, with SAM 2's mask-to-mask refinement (use_m2m).

    python benchmarks/amg.py [--models vit_t,sam2.1_hiera_t] [--points-per-side 8] [--runs 3]
                             [--image PATH] [--device cpu] [--settings defaults,relaxed,m2m]
                             [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.engine import Predictor, load_model  # noqa: E402
from annotator.engine.amg import AutomaticMaskGenerator  # noqa: E402

DEFAULT_IMAGES = [Path("/work/shared/images/dog.jpg"), ROOT / "sample_data" / "coffee.jpg"]
RELAXED = {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0}
SETTINGS = {"defaults": {}, "relaxed": RELAXED, "m2m": {**RELAXED, "use_m2m": True}}
SAM2_ONLY = {"m2m"}
LABELS = {"vit_t": "MobileSAM", "sam2.1_hiera_t": "SAM 2.1 Hiera-T"}


def load_photo(path: Path | None, max_side: int) -> tuple[np.ndarray, Path]:
    for p in [path] if path else DEFAULT_IMAGES:
        if p and p.is_file():
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is not None:
                scale = min(1.0, max_side / max(bgr.shape[:2]))
                if scale < 1.0:
                    size = (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale))
                    bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
                return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), p
    raise SystemExit(f"no readable image among {[path] if path else DEFAULT_IMAGES}")


def timed(fn, device: torch.device) -> tuple[float, list]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t, out


def reference_pair(name: str, device: torch.device, tmp: Path):
    """(reference generator class, reference model, our Predictor) on the same random weights."""
    from tests.engine.oracles import perturb_

    torch.manual_seed(0)  # the reference builders initialise randomly before perturbing
    if name == "vit_t":
        from segment_anything import SamAutomaticMaskGenerator

        from tests.engine.oracles import reference_mobile_sam

        ref_model = perturb_(reference_mobile_sam(), seed=2).to(device)
        path = tmp / "mobile_sam_random.pt"
        torch.save(ref_model.state_dict(), path)
        return SamAutomaticMaskGenerator, ref_model, Predictor(load_model(path, device=device))
    if name == "sam2.1_hiera_t":
        from sam2.automatic_mask_generator import SAM2AutomaticMaskGenerator
        from sam2.build_sam import build_sam2

        config = "configs/sam2.1/sam2.1_hiera_t.yaml"
        ref_model = perturb_(build_sam2(config, ckpt_path=None, device="cpu"), seed=3).to(device)
        path = tmp / "sam2.1_hiera_tiny.pt"
        torch.save({"model": ref_model.state_dict()}, path)
        return SAM2AutomaticMaskGenerator, ref_model, Predictor(load_model(path, device=device))
    raise SystemExit(f"unknown model {name!r}; choose from {', '.join(LABELS)}")


def measure(ref_cls, ref_model, predictor, kwargs: dict, runs: int, device, image) -> dict:
    """Alternate reference and ours `runs` times; medians, same-run ratio and mask counts."""
    ref_gen = ref_cls(ref_model, **kwargs)
    our_gen = AutomaticMaskGenerator(predictor, **kwargs)
    ref_times, our_times = [], []
    n_ref = n_ours = 0
    with torch.inference_mode():
        for _ in range(runs):
            t, out = timed(lambda: ref_gen.generate(image), device)
            ref_times.append(t)
            n_ref = len(out)
            t, out = timed(lambda: our_gen.generate(image), device)
            our_times.append(t)
            n_ours = len(out)
    ref_med, our_med = statistics.median(ref_times), statistics.median(our_times)
    return {
        "generator_kwargs": kwargs,
        "reference_s": ref_times,
        "ours_s": our_times,
        "reference_median_s": ref_med,
        "ours_median_s": our_med,
        "ratio": our_med / ref_med,
        "masks_reference": n_ref,
        "masks_ours": n_ours,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="vit_t,sam2.1_hiera_t")
    parser.add_argument("--points-per-side", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--max-side", type=int, default=1024, help="downscale the photo to this")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--settings", default="defaults,relaxed,m2m")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    args = parser.parse_args()

    device = torch.device(args.device)
    image, image_path = load_photo(args.image, args.max_side)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            ref_cls, ref_model, predictor = reference_pair(model, device, Path(tmp))
            for name in args.settings.split(","):
                if name in SAM2_ONLY and not model.startswith("sam2"):
                    continue
                kwargs = {"points_per_side": args.points_per_side, **SETTINGS[name]}
                row = measure(ref_cls, ref_model, predictor, kwargs, args.runs, device, image)
                rows.append({"model": model, "setting": name, "reference": ref_cls.__name__,
                             "dtype": str(predictor.model.dtype), **row})  # fmt: skip

    print(
        f"image {image_path.name} {image.shape[1]}x{image.shape[0]}, random perturbed weights, "
        f"{args.points_per_side}x{args.points_per_side} points, device {device}, "
        f"{args.runs} run(s) each, torch threads {torch.get_num_threads()}"
    )
    head = f"{'model':<16} {'setting':<9} {'reference s':>12} {'ours s':>8} {'ratio':>7}"
    print(f"{head} {'masks ref/ours':>15}")
    for r in rows:
        print(
            f"{LABELS[r['model']]:<16} {r['setting']:<9} {r['reference_median_s']:>12.2f} "
            f"{r['ours_median_s']:>8.2f} {r['ratio']:>7.3f} "
            f"{r['masks_reference']:>7}/{r['masks_ours']:<7}"
        )
    result = {
        "benchmark": "amg",
        "image": str(image_path),
        "image_size": [image.shape[0], image.shape[1]],
        "device": str(device),
        "points_per_side": args.points_per_side,
        "runs": args.runs,
        "rows": rows,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
