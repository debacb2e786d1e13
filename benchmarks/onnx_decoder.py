"""Click -> full-resolution mask: torch vs ONNX Runtime prompt+decoder, beside the reference.

Same weights, same 1800x1200 photo, same run; calls interleaved click by click (reference,
torch, onnx) so that load on a shared machine hits all alike. Models: SAM ViT-B (reduced to 2
encoder blocks: the click path, prompt encoder + mask decoder + postprocessing, is that of the
full ViT-B, ViT-L and ViT-H) and MobileSAM with perturbed random weights against
``segment_anything.SamPredictor``; the bundled LiteMedSAM (box clicks) against its authors'
pipeline. Also times the postprocessing alone: the exact two resizes (current), and one resize
straight from the cropped low-res logits (one pass fewer), with its agreement.

    python benchmarks/onnx_decoder.py [--clicks 20] [--image PATH] [--json OUT]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from engine import LiteReference, click_prompts, load_photo, summary  # noqa: E402

from annotator.engine import Predictor, load_model  # noqa: E402
from annotator.engine.postprocess import upsample_logits  # noqa: E402


def _clock(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_model(name, ref, model, image, prompts, kind) -> dict:
    torch_p = Predictor(model, decoder="torch")
    onnx_p = Predictor(model, decoder="onnx")
    t0 = time.perf_counter()
    ref.set_image(image)
    torch_p.set_image(image)
    onnx_p.set_image_state(torch_p.get_image_state())
    warm = prompts[0]
    call = _caller(kind)
    call(onnx_p, warm, True)  # builds the ONNX Runtime sessions
    row = {"model": name, "session_build_s": time.perf_counter() - t0}
    for multimask in (False, True):
        times: dict[str, list[float]] = {"ref": [], "torch": [], "onnx": []}
        for prompt in prompts:
            times["ref"].append(_clock(lambda p=prompt, mm=multimask: call(ref, p, mm, True)))
            times["torch"].append(_clock(lambda p=prompt, mm=multimask: call(torch_p, p, mm)))
            times["onnx"].append(_clock(lambda p=prompt, mm=multimask: call(onnx_p, p, mm)))
        tag = "multi" if multimask else "single"
        for k, v in times.items():
            row[f"{tag}_{k}"] = summary(v)
        ratios = {
            k: float(np.median(np.asarray(times[k]) / np.asarray(times["ref"])))
            for k in ("torch", "onnx")
        }
        row[f"{tag}_ratio_torch"] = ratios["torch"]  # median of per-click ratios
        row[f"{tag}_ratio_onnx"] = ratios["onnx"]
    return row


def _caller(kind):
    def call(pred, prompt, multimask, is_ref=False):
        if kind == "box":
            if is_ref and isinstance(pred, LiteReference):
                return pred.predict(prompt, multimask)
            return pred.predict(box=prompt, multimask_output=multimask)
        return pred.predict(
            point_coords=prompt[None], point_labels=np.array([1]), multimask_output=multimask
        )

    return call


def bench_postprocess(reps: int, orig=(1200, 1800)) -> dict:
    """Exact two-pass upsampling (current) vs one resize from the cropped low-res logits."""
    gen = torch.Generator().manual_seed(0)
    low = torch.randn(1, 3, 256, 256, generator=gen)
    low = torch.nn.functional.avg_pool2d(low, 9, 1, 4) * 30  # smooth logits, like a decoder's
    inp = (683, 1024)
    crop = (int(np.ceil(inp[0] / 4)), 256)  # low-res rows/cols inside the image

    def one_pass(n):
        out = np.empty((n, *orig), np.bool_)
        for j in range(n):
            plane = np.ascontiguousarray(low[0, j, : crop[0], : crop[1]].numpy())
            r = cv2.resize(plane, orig[::-1], interpolation=cv2.INTER_LINEAR)
            np.greater(r, 0.0, out=out[j])
        return out

    out: dict = {}
    for n in (1, 3):
        t_two, t_one = [], []
        for _ in range(reps):
            t_two.append(_clock(lambda n=n: upsample_logits(low[:, :n], 1024, inp, orig, 0.0)))
            t_one.append(_clock(lambda n=n: one_pass(n)))
        exact = upsample_logits(low[:, :n], 1024, inp, orig, 0.0)[0].numpy()
        approx = one_pass(n)
        inter = np.logical_and(exact, approx).sum(axis=(1, 2))
        union = np.logical_or(exact, approx).sum(axis=(1, 2))
        out[f"masks{n}"] = {
            "two_pass": summary(t_two),
            "one_pass": summary(t_one),
            "one_pass_iou_min": float((inter / np.maximum(union, 1)).min()),
        }
    return out


def bench_quantized(name: str, model, image: np.ndarray, clicks: int) -> dict:
    """The exported official-interface decoder, float32 vs dynamic int8, on this photo's
    embedding: per-click ONNX Runtime time and mask agreement."""
    from annotator.engine.onnx.export import compare_decoders, export_decoder, quantize

    p = Predictor(model, decoder="torch")
    p.set_image(image)
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "d.onnx", Path(tmp) / "d.int8.onnx"
        export_decoder(model, fp32)
        quantize(fp32, int8)
        row = compare_decoders(fp32, int8, model, p.get_image_embedding(), clicks=clicks)
        row["size_mb"] = [fp32.stat().st_size / 1e6, int8.stat().st_size / 1e6]
    return {"model": name, **row}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--image", type=Path, default=None)
    parser.add_argument("--models", default="vit_b,vit_t,lite_medsam")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--quantized", action="store_true", help="also int8 vs float32 exported decoders"
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    from segment_anything import SamPredictor

    from tests.engine.oracles import perturb_, reference_mobile_sam, reference_sam_vit

    image = load_photo(args.image)
    points, boxes = click_prompts(image, args.clicks)
    wanted = args.models.split(",")
    rows, quant = [], []
    torch.manual_seed(0)
    builders = {
        "vit_b": lambda: perturb_(reference_sam_vit(2, (1,)), seed=1),
        "vit_t": lambda: perturb_(reference_mobile_sam(), seed=2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in builders.items():
            if name not in wanted:
                continue
            print(f"[{name}] running ...", file=sys.stderr, flush=True)
            ref = build()
            path = Path(tmp) / f"{name}.pth"
            torch.save(ref.state_dict(), path)
            model = load_model(path, device="cpu")
            rows.append(bench_model(name, SamPredictor(ref), model, image, points, "point"))
            if args.quantized:
                quant.append(bench_quantized(name, model, image, args.clicks))
    if "lite_medsam" in wanted:
        print("[lite_medsam] running ...", file=sys.stderr, flush=True)
        model = load_model(None, device="cpu")
        ref = LiteReference(torch.device("cpu"))
        rows.append(bench_model("lite_medsam (box)", ref, model, image, boxes, "box"))
        if args.quantized:
            quant.append(bench_quantized("lite_medsam", model, image, args.clicks))
    report = {
        "torch": torch.__version__,
        "onnxruntime": __import__("onnxruntime").__version__,
        "threads": torch.get_num_threads(),
        "image_hw": list(image.shape[:2]),
        "clicks": args.clicks,
        "rows": rows,
        "postprocess": bench_postprocess(args.clicks),
        "quantized": quant,
    }
    print_table(report)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


def print_table(report: dict) -> None:
    print(
        f"\nclick -> full-res mask, {report['image_hw'][1]}x{report['image_hw'][0]}, "
        f"{report['clicks']} clicks, {report['threads']} threads (p50 ms; ratio = median of "
        "per-click ratios to the reference)"
    )
    head = (
        f"{'model':<20}{'masks':>6}{'ref':>8}{'torch':>8}{'onnx':>8}"
        f"{'torch/ref':>10}{'onnx/ref':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in report["rows"]:
        for tag, n in (("single", 1), ("multi", 3)):
            print(
                f"{r['model']:<20}{n:>6}{r[f'{tag}_ref']['p50_ms']:>8.1f}"
                f"{r[f'{tag}_torch']['p50_ms']:>8.1f}{r[f'{tag}_onnx']['p50_ms']:>8.1f}"
                f"{r[f'{tag}_ratio_torch']:>10.2f}{r[f'{tag}_ratio_onnx']:>10.2f}"
            )
    print("\npostprocessing alone (p50 ms): exact two passes vs one resize from the crop")
    for k, v in report["postprocess"].items():
        print(
            f"  {k}: {v['two_pass']['p50_ms']:.1f} vs {v['one_pass']['p50_ms']:.1f} ms, "
            f"one-pass mask IoU min {v['one_pass_iou_min']:.4f}"
        )
    if report["quantized"]:
        print("\nexported decoder, int8 vs float32 (p50 ms per click, mask IoU on this photo)")
    for q in report["quantized"]:
        print(
            f"  {q['model']:<12} {q['candidate_ms']:.1f} vs {q['reference_ms']:.1f} ms, "
            f"IoU mean {q['mask_iou_mean']:.3f} min {q['mask_iou_min']:.3f}, scores within "
            f"{q['score_diff_max']:.3f}, {q['size_mb'][1]:.1f} vs {q['size_mb'][0]:.1f} MB"
        )
    print()


if __name__ == "__main__":
    raise SystemExit(main())
