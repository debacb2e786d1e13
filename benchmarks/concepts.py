"""SAM 3 concept prompts: encode time, query time per phrase, peak memory, fp32 vs bf16.

The model is transformers' ``Sam3Model`` at its default (full-size) configuration, 840 M
parameters, with random weights (the gated checkpoint cannot be downloaded here; speed does
not depend on the values), run through the engine's ``ConceptPredictor``. Each precision runs
in its own child process, so that its peak memory (RSS on the CPU, allocated memory on a GPU)
is its own; the parent prints the table, the JSON and the same-run ratios to float32.

Measured per precision: encode (``set_image``, the vision encoder at 1008 x 1008) median of
``--repeats`` after one warm-up; a query with a new phrase (text encoder + detector + masks)
and with a phrase already asked (its text features cached), medians over ``--phrases``.

Agreement: for float32's best 10 instances of the first phrase (first round), the IoU of the
closest mask of each other precision (the full config's random fill gives empty masks: then
use the tiny config, whose masks are not). ``--rounds`` runs every precision that many times in
alternating order; "x fp32" is the median of the same-round encode ratios.

    python benchmarks/concepts.py [--config full|tiny] [--device cpu|cuda] [--rounds 1]
        [--precisions auto,float32,bfloat16] [--repeats 2] [--vision-layers 32]
        [--image PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_IMAGE = ROOT / "sample_data" / "astronaut.jpg"
PHRASES = ("person", "red car", "dog", "the helmet", "cat")
AGREEMENT_TOP = 10  # best instances of the first phrase compared across precisions


def full_config(vision_layers: int = 32):
    """transformers' default (full-size) ``Sam3Config``; ``vision_layers`` < 32 keeps its ViT
    backbone's width, windows and resolution but fewer layers (two of them global, as the
    full model has one global layer in eight), for quicker profiling."""
    from transformers import Sam3Config

    config = Sam3Config()
    if vision_layers != 32:
        vit = config.vision_config.backbone_config
        vit.num_hidden_layers = vision_layers
        vit.global_attn_indexes = sorted({vision_layers // 2 - 1, vision_layers - 1})
    return config


def build(config: str, device: str, precision: str, vision_layers: int = 32):
    """A ConceptPredictor with random weights in ``precision``."""
    import torch
    from transformers import Sam3ImageProcessor, Sam3Model, Sam3Processor

    from annotator.engine.concepts import ConceptPredictor
    from annotator.engine.concepts.precision import apply_concept_precision
    from annotator.engine.devices import resolve_device
    from annotator.engine.precision import resolve_precision
    from tests.engine.concepts.sam3_tiny import tiny_model_and_processor, tiny_tokenizer

    dev = resolve_device(device)
    if config == "tiny":
        model, processor = tiny_model_and_processor()
    else:
        # Built on the meta device and filled in place: Sam3Model's own init of 840 M
        # parameters takes minutes on 2 cores, and the values do not matter for speed.
        with torch.device("meta"):
            model = Sam3Model(full_config(vision_layers))
        model = model.to_empty(device=dev)
        torch.manual_seed(0)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.02)
            for b in model.buffers():
                if b.is_floating_point():
                    b.zero_()
                else:  # the text encoder's token positions index its position table
                    b.copy_(torch.arange(b.shape[-1], device=dev).expand_as(b))
        processor = Sam3Processor(image_processor=Sam3ImageProcessor(), tokenizer=tiny_tokenizer())
    model = apply_concept_precision(model.to(dev).eval(), resolve_precision(precision, dev))
    return ConceptPredictor(model, processor), sum(p.numel() for p in model.parameters())


def child(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch
    from PIL import Image

    image = np.array(Image.open(args.image).convert("RGB"))
    t0 = time.perf_counter()
    predictor, n_params = build(args.config, args.device, args.precision, args.vision_layers)
    build_s = time.perf_counter() - t0
    cuda = predictor.device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    encodes = []
    for _ in range(args.repeats + 1):  # the first is a warm-up (oneDNN / cuDNN plans)
        t0 = time.perf_counter()
        predictor.set_image(image)
        sync()
        encodes.append(time.perf_counter() - t0)
        print(f"{args.precision}: encode {encodes[-1]:.2f} s", file=sys.stderr, flush=True)
    new, cached, found = [], [], []
    for phrase in PHRASES[: args.phrases]:
        for bucket in (new, cached):
            t0 = time.perf_counter()
            instances = predictor.find(phrase, threshold=0.0)
            sync()
            bucket.append(time.perf_counter() - t0)
            print(f"{args.precision}: query {bucket[-1]:.2f} s", file=sys.stderr, flush=True)
        found.append(len(instances))
        if args.masks_out and len(found) == 1:  # the first phrase's best, for the agreement
            best = instances[:AGREEMENT_TOP]
            np.savez_compressed(args.masks_out, masks=np.stack([i.mask for i in best]),
                                scores=np.array([i.score for i in best]))  # fmt: skip
    peak = (
        torch.cuda.max_memory_allocated() / 2**30
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    )
    return {
        "precision": args.precision,
        "label": predictor.model.precision.label,
        "parameters": n_params,
        "build_s": build_s,
        "encode_s": statistics.median(encodes[1:]),
        "encode_runs_s": encodes,
        "query_new_phrase_s": statistics.median(new),
        "query_cached_phrase_s": statistics.median(cached),
        "instances_per_query": found,
        "peak_memory_gib": peak,
        "peak_memory_kind": "cuda allocated" if cuda else "process RSS",
    }


def agreement(reference: Path, other: Path) -> dict:
    """How far ``other``'s masks of the first phrase are from float32's: for each of float32's
    best ``AGREEMENT_TOP`` instances, the IoU of the closest mask of the other precision."""
    import numpy as np

    ref, oth = np.load(reference), np.load(other)
    a, b = ref["masks"].reshape(len(ref["masks"]), -1), oth["masks"].reshape(len(oth["masks"]), -1)
    inter = a.astype(np.float32) @ b.T.astype(np.float32)
    union = a.sum(1)[:, None] + b.sum(1)[None, :] - inter
    best = np.where(union > 0, inter / np.maximum(union, 1), 1.0).max(1)  # empty = empty: 1
    top_score = float(abs(ref["scores"][0] - oth["scores"][0]))
    return {"mean_iou": float(best.mean()), "min_iou": float(best.min()),
            "top_score_abs_diff": top_score,
            "nonempty_reference_masks": int((a.sum(1) > 0).sum())}  # fmt: skip


def run_child(args: argparse.Namespace, precision: str, masks_out: Path) -> dict:
    cmd = [sys.executable, __file__, "--precision", precision, "--config", args.config,
           "--device", args.device, "--repeats", str(args.repeats),
           "--phrases", str(args.phrases), "--image", str(args.image),
           "--vision-layers", str(args.vision_layers), "--masks-out", str(masks_out)]  # fmt: skip
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:  # its traceback went to stderr
        raise SystemExit(done.returncode)
    print(f"{precision}: done", file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_average() -> float:
    return os.getloadavg()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="auto,float32,bfloat16")
    parser.add_argument("--repeats", type=int, default=2, help="timed encodes after a warm-up")
    parser.add_argument("--phrases", type=int, default=3, help="phrases queried (new, cached)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of every precision, in alternating order")  # fmt: skip
    parser.add_argument("--vision-layers", type=int, default=32,
                        help="ViT layers of the full config (fewer: quicker)")  # fmt: skip
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--precision", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--masks-out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.precision:
        print(json.dumps(child(args)))
        return 0

    import torch

    precisions = args.precisions.split(",")
    runs: dict[str, list[dict]] = {p: [] for p in precisions}
    ratios: dict[str, list[float]] = {p: [] for p in precisions}
    loads = [load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            order = precisions if r % 2 == 0 else precisions[::-1]
            for precision in order:
                out = Path(tmp) / f"{precision}-{r}.npz"
                runs[precision].append(run_child(args, precision, out))
                loads.append(load_average())
            if "float32" in runs:
                for p in precisions:  # same-round ratios: both ran minutes apart
                    ratios[p].append(runs["float32"][r]["encode_s"] / runs[p][r]["encode_s"])
        agree = {}
        if "float32" in runs:
            ref = Path(tmp) / "float32-0.npz"
            agree = {p: agreement(ref, Path(tmp) / f"{p}-0.npz") for p in precisions}
    rows = []
    for p in precisions:
        rs = runs[p]
        row = dict(rs[0])
        for key in ("encode_s", "query_new_phrase_s", "query_cached_phrase_s"):
            row[key] = statistics.median(r[key] for r in rs)
        row["peak_memory_gib"] = max(r["peak_memory_gib"] for r in rs)
        row["rounds"] = rs
        row["encode_speedup_vs_fp32_per_round"] = ratios[p]
        row["encode_speedup_vs_fp32"] = statistics.median(ratios[p]) if ratios[p] else None
        row["agreement_vs_fp32"] = agree.get(p)
        rows.append(row)
    base = next((r for r in rows if r["precision"] == "float32"), rows[0])
    for r in rows:
        r["query_speedup_vs_fp32"] = base["query_new_phrase_s"] / r["query_new_phrase_s"]
    header = ("precision", "encode s", "x fp32", "query new s", "query cached s", "x fp32",
              "peak GiB", "mask IoU vs fp32")  # fmt: skip
    table = [header] + [
        (r["label"], f"{r['encode_s']:.2f}", _num(r["encode_speedup_vs_fp32"]),
         f"{r['query_new_phrase_s']:.3f}", f"{r['query_cached_phrase_s']:.3f}",
         f"{r['query_speedup_vs_fp32']:.2f}", f"{r['peak_memory_gib']:.2f}",
         _iou(r["agreement_vs_fp32"]))
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    n_params = rows[0]["parameters"]
    threads = torch.get_num_threads()
    layers = f", {args.vision_layers} ViT layers" if args.config == "full" else ""
    print(f"SAM 3 ({args.config}{layers}, {n_params / 1e6:.1f} M "
          f"parameters, random weights) on {args.device}, torch {torch.__version__}, {threads} "
          f"threads, {args.rounds} round(s), load average {min(loads):.1f}-{max(loads):.1f}; "
          "x fp32: median of the same-round ratios")  # fmt: skip
    for row in table:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    report = {"config": args.config, "vision_layers": args.vision_layers, "device": args.device,
              "image": str(args.image), "repeats": args.repeats, "rounds": args.rounds,
              "load_average": loads, "results": rows}  # fmt: skip
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _iou(agree: dict | None) -> str:
    if agree is None or not agree["nonempty_reference_masks"]:
        return "-" if agree is None else "- (empty masks)"
    return f"{agree['mean_iou']:.3f} (min {agree['min_iou']:.3f})"


if __name__ == "__main__":
    raise SystemExit(main())
