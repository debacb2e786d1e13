"""Automatic mask generation speed against segment-anything's SamAutomaticMaskGenerator.

Same weights (MobileSAM-sized TinyViT with perturbed random weights, built with the reference
code and loaded into our engine from the same state dict; the official files cannot be
downloaded here), same photo, same run. Reference and ours alternate run by run so load on a
shared machine hits both alike. Two threshold settings:
- "defaults": pred_iou_thresh 0.88, stability 0.95 (random weights let few masks through);
- "relaxed": both thresholds 0, so every mask is postprocessed, as with a trained model on a
  busy photo where many candidates pass.

    python benchmarks/amg.py [--points-per-side 8] [--runs 3] [--image PATH] [--device cpu]
                             [--settings defaults,relaxed] [--json OUT]
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
SETTINGS = {
    "defaults": {},
    "relaxed": {"pred_iou_thresh": 0.0, "stability_score_thresh": 0.0},
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points-per-side", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", type=Path)
    parser.add_argument("--max-side", type=int, default=1024, help="downscale the photo to this")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--settings", default="defaults,relaxed")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    args = parser.parse_args()

    from segment_anything import SamAutomaticMaskGenerator

    from tests.engine.oracles import perturb_, reference_mobile_sam

    device = torch.device(args.device)
    image, image_path = load_photo(args.image, args.max_side)
    torch.manual_seed(0)  # the reference builder initialises randomly before perturbing
    ref_model = perturb_(reference_mobile_sam(), seed=2).to(device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mobile_sam_random.pt"
        torch.save(ref_model.state_dict(), path)
        our_model = load_model(path, device=device)
    predictor = Predictor(our_model)

    rows = []
    for name in args.settings.split(","):
        kwargs = {"points_per_side": args.points_per_side, **SETTINGS[name]}
        ref_gen = SamAutomaticMaskGenerator(ref_model, **kwargs)
        our_gen = AutomaticMaskGenerator(predictor, **kwargs)
        ref_times, our_times = [], []
        n_ref = n_ours = 0
        with torch.inference_mode():
            for _ in range(args.runs):
                t, out = timed(lambda g=ref_gen: g.generate(image), device)
                ref_times.append(t)
                n_ref = len(out)
                t, out = timed(lambda g=our_gen: g.generate(image), device)
                our_times.append(t)
                n_ours = len(out)
        ref_med, our_med = statistics.median(ref_times), statistics.median(our_times)
        rows.append(
            {
                "setting": name,
                "generator_kwargs": kwargs,
                "reference_s": ref_times,
                "ours_s": our_times,
                "reference_median_s": ref_med,
                "ours_median_s": our_med,
                "ratio": our_med / ref_med,
                "masks_reference": n_ref,
                "masks_ours": n_ours,
            }
        )

    print(
        f"image {image_path.name} {image.shape[1]}x{image.shape[0]}, MobileSAM-sized random "
        f"weights, {args.points_per_side}x{args.points_per_side} points, device {device}, "
        f"{args.runs} run(s) each, torch threads {torch.get_num_threads()}"
    )
    print(f"{'setting':<10} {'reference s':>12} {'ours s':>8} {'ratio':>7} {'masks ref/ours':>15}")
    for r in rows:
        print(
            f"{r['setting']:<10} {r['reference_median_s']:>12.2f} {r['ours_median_s']:>8.2f} "
            f"{r['ratio']:>7.3f} {r['masks_reference']:>7}/{r['masks_ours']:<7}"
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
