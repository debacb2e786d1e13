"""SAM 3 concept prompts: encode time, query time per phrase, peak memory, fp32 vs bf16.

The model is transformers' ``Sam3Model`` at its default (full-size) configuration, 840 M
parameters, with random weights (the gated checkpoint cannot be downloaded here; speed does
not depend on the values), run through the engine's ``ConceptPredictor``. Each precision runs
in its own child process, so that its peak memory (RSS on the CPU, allocated memory on a GPU)
is its own; the parent prints the table, the JSON and the same-run ratios to float32.

Measured per precision: encode (``set_image``, the vision encoder at 1008 x 1008) median of
``--repeats`` after one warm-up; a query with a new phrase (text encoder + detector + masks)
and with a phrase already asked (its text features cached), medians over ``--phrases``.

    python benchmarks/concepts.py [--config full|tiny] [--device cpu|cuda]
        [--precisions auto,float32,bfloat16] [--repeats 2] [--image PATH] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_IMAGE = ROOT / "sample_data" / "astronaut.jpg"
PHRASES = ("person", "red car", "dog", "the helmet", "cat")


def build(config: str, device: str, precision: str):
    """A ConceptPredictor with random weights in ``precision``."""
    import torch
    from transformers import Sam3Config, Sam3ImageProcessor, Sam3Model, Sam3Processor

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
            model = Sam3Model(Sam3Config())
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
    predictor, n_params = build(args.config, args.device, args.precision)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precisions", default="auto,float32,bfloat16")
    parser.add_argument("--repeats", type=int, default=2, help="timed encodes after a warm-up")
    parser.add_argument("--phrases", type=int, default=3, help="phrases queried (new, cached)")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--precision", help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args(argv)
    if args.precision:
        print(json.dumps(child(args)))
        return 0

    import torch

    rows = []
    for precision in args.precisions.split(","):
        cmd = [sys.executable, __file__, "--precision", precision, "--config", args.config,
               "--device", args.device, "--repeats", str(args.repeats),
               "--phrases", str(args.phrases), "--image", str(args.image)]  # fmt: skip
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:  # its traceback went to stderr
            return done.returncode
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{precision}: done", file=sys.stderr)
    base = next((r for r in rows if r["precision"] == "float32"), rows[0])
    for r in rows:
        r["encode_speedup_vs_fp32"] = base["encode_s"] / r["encode_s"]
        r["query_speedup_vs_fp32"] = base["query_new_phrase_s"] / r["query_new_phrase_s"]
    header = ("precision", "encode s", "x fp32", "query new s", "query cached s", "x fp32",
              "peak GiB")  # fmt: skip
    table = [header] + [
        (r["label"], f"{r['encode_s']:.2f}", f"{r['encode_speedup_vs_fp32']:.2f}",
         f"{r['query_new_phrase_s']:.3f}", f"{r['query_cached_phrase_s']:.3f}",
         f"{r['query_speedup_vs_fp32']:.2f}", f"{r['peak_memory_gib']:.2f}")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    n_params = rows[0]["parameters"]
    threads = torch.get_num_threads()
    print(f"SAM 3 ({args.config}, {n_params / 1e6:.0f} M parameters, random weights) on "
          f"{args.device}, torch {torch.__version__}, {threads} threads")  # fmt: skip
    for row in table:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    report = {"config": args.config, "device": args.device, "image": str(args.image),
              "repeats": args.repeats, "results": rows}  # fmt: skip
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
