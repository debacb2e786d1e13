"""Scale-out speed: encoder batching, local vs Ray runs of `annotator segment` and `track`.

1. ``--part encoder``: image-encoder throughput (images/s) at batch sizes 1, 2, 4, 8 on the
   same 8 photos: the bundled LiteMedSAM (256 px TinyViT, real weights) and SAM ViT-B (1024 px,
   perturbed random weights: speed does not depend on the values). Batch sizes alternate
   round by round so load on a shared machine hits them alike. This chose the Ray actors'
   default --batch-size (`annotator.distributed.ray_runner.DEFAULT_BATCH_SIZE`).
2. ``--part ray``: the same images through `annotator segment` (bundled LiteMedSAM, the
   boxes of each image) run locally, on Ray with 1 worker of all CPUs and with 2 workers of
   one CPU each, on one local Ray instance, alternating. Wall time of the whole command,
   actors' start and model loads included; "overhead per image" is (Ray 1 worker - local) / N
   at the same thread count.
3. ``--part track``: `annotator track` over several sequences (frames made from the photos,
   a box on frame 0 of each; SAM 2.1 Hiera-T at full size, random weights): one after another
   locally, and side by side on Ray with one sequence per worker, alternating.
4. ``--part overhead``: Ray Data's own cost per item: a job that does nothing, n items, at
   batch sizes 1 and 8; each run starts its actors, amortised over the n items (an upper
   bound on the cost per image of a long run).

    python benchmarks/distributed.py [--part encoder,ray,track,overhead] [--images 16]
                                     [--repeats 2] [--sequences 2] [--frames 4]
                                     [--encoder-models lite_medsam,vit_b] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHOTOS = sorted(Path("/work/shared/images").glob("*.jpg")) + sorted(
    (ROOT / "sample_data").glob("*.jpg")
)
BATCHES = (1, 2, 4, 8)


def photos(n: int) -> list[np.ndarray]:
    """n RGB photos (the shared ones and the samples, mirrored for more)."""
    out = []
    for i in range(n):
        image = cv2.imread(str(PHOTOS[i % len(PHOTOS)]))[..., ::-1]
        out.append(np.ascontiguousarray(image if (i // len(PHOTOS)) % 2 == 0 else image[:, ::-1]))
    return out


def encoder_model(name: str, tmp: Path):
    from annotator.engine import load_model

    if name == "lite_medsam":
        return load_model(None, device="cpu")
    from segment_anything import build_sam_vit_b

    torch.manual_seed(0)
    ref = build_sam_vit_b()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    path = tmp / "vit_b.pth"
    torch.save(ref.state_dict(), path)
    del ref
    return load_model(path, device="cpu")


def bench_encoder(name: str, images: list[np.ndarray], repeats: int) -> dict:
    """Images/s of the image encoder alone at each batch size (median over rounds)."""
    from annotator.engine import Predictor

    with tempfile.TemporaryDirectory() as tmp:
        model = encoder_model(name, Path(tmp))
    predictor = Predictor(model)
    # What set_image feeds the encoder: resized, normalised and padded, one (1, 3, S, S) each.
    inputs = [
        model.preprocess(
            torch.as_tensor(predictor.transform.apply_image(im)).permute(2, 0, 1)[None]
        )
        for im in images
    ]
    rates: dict[int, list[float]] = {b: [] for b in BATCHES}
    with torch.inference_mode():
        model.encode_image(inputs[0])  # warm-up
        for _ in range(repeats):
            for b in BATCHES:
                start = time.perf_counter()
                for s in range(0, len(inputs), b):
                    model.encode_image(torch.cat(inputs[s : s + b]))
                rates[b].append(len(inputs) / (time.perf_counter() - start))
                print(f"  {name} batch {b}: {rates[b][-1]:.2f} img/s", file=sys.stderr, flush=True)
    med = {b: statistics.median(v) for b, v in rates.items()}
    return {
        "model": name,
        "precision": str(model.precision.encoder).replace("torch.", ""),
        "images_per_s": med,
        "vs_batch_1": {b: med[b] / med[1] for b in BATCHES},
        "runs": rates,
    }


def write_inputs(folder: Path, n: int) -> Path:
    """n photos (long side 640) and a detections file: four boxes per image."""
    folder.mkdir(parents=True, exist_ok=True)
    dets = []
    for i, image in enumerate(photos(n)):
        scale = 640 / max(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale)
        name = f"img{i:03d}.jpg"
        cv2.imwrite(str(folder / name), small[..., ::-1])
        h, w = small.shape[:2]
        for j, (x, y) in enumerate([(0.1, 0.1), (0.5, 0.1), (0.1, 0.5), (0.4, 0.4)]):
            box = [x * w, y * h, 0.4 * w, 0.4 * h]
            dets.append({"image_id": name, "category_id": 1 + j % 2, "bbox": box, "score": 0.9})
    (folder.parent / "dets.json").write_text(json.dumps(dets))
    return folder


def alternate(
    configs: dict[str, list[str]], repeats: int, cpus: int, argv_of: Callable[[Path], list[str]]
) -> dict[str, list[float]]:
    """Wall times of `annotator` runs, configs alternating round by round on one local Ray
    instance: argv_of(fresh output path) + the config's flags."""
    import ray

    from annotator.cli import main

    times: dict[str, list[float]] = {k: [] for k in configs}
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="WARNING")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(repeats):
                for name, extra in configs.items():
                    argv = [*argv_of(Path(tmp) / f"out-{r}-{abs(hash(name))}"), *extra]
                    start = time.perf_counter()
                    with contextlib.redirect_stderr(io.StringIO()):
                        code = main(argv)
                    times[name].append(time.perf_counter() - start)
                    assert code == 0, f"{name} failed"
                    print(f"  {name}: {times[name][-1]:.1f} s", file=sys.stderr, flush=True)
    finally:
        ray.shutdown()
    return times


def bench_ray(n: int, repeats: int) -> dict:
    cpus = os.cpu_count() or 2
    configs = {
        "local": [],
        f"ray, 1 worker x {cpus} CPUs": ["--ray", "--workers", "1", "--cpus-per-worker", str(cpus)],
        f"ray, {cpus} workers x 1 CPU": ["--ray", "--workers", str(cpus)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        images = write_inputs(Path(tmp) / "images", n)
        boxes = ["--boxes", str(Path(tmp) / "dets.json"), "--device", "cpu"]

        def argv_of(out: Path) -> list[str]:
            return ["segment", str(images), *boxes, "-o", f"{out}.json"]

        times = alternate(configs, repeats, cpus, argv_of)
    med = {k: statistics.median(v) for k, v in times.items()}
    local = med["local"]
    one = next(k for k in configs if "1 worker" in k)
    return {
        "images": n,
        "cpus": cpus,
        "seconds": med,
        "images_per_s": {k: n / v for k, v in med.items()},
        "vs_local": {k: local / v for k, v in med.items()},
        "ray_overhead_s_per_image": (med[one] - local) / n,
        "runs": times,
    }


def write_sequences(root: Path, sequences: int, frames: int) -> tuple[list[Path], Path, Path]:
    """Frame folders (photos, long side 640, a step sideways per frame), a bbox-only prompts
    file with one box on frame 0 of each, and a random-weight SAM 2.1 Hiera-T checkpoint."""
    from annotator.engine.modeling.sam2 import SAM2_CONFIGS
    from annotator.engine.weights.load import build_network

    folders, images, anns = [], [], []
    for s, image in enumerate(photos(sequences)):
        scale = 640 / max(image.shape[:2])
        small = cv2.resize(image, None, fx=scale, fy=scale)
        folder = root / f"seq{s:02d}"
        folder.mkdir(parents=True)
        for f in range(frames):
            cv2.imwrite(str(folder / f"{f:05d}.jpg"), np.roll(small, 4 * f, axis=1)[..., ::-1])
        h, w = small.shape[:2]
        images.append({"id": s + 1, "file_name": f"{folder.name}/00000.jpg", "width": w,
                       "height": h, "video": folder.name, "frame_index": 0})  # fmt: skip
        anns.append({"id": s + 1, "image_id": s + 1, "category_id": 1,
                     "bbox": [0.3 * w, 0.3 * h, 0.4 * w, 0.4 * h]})  # fmt: skip
        folders.append(folder)
    prompts = root / "boxes.json"
    coco = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "thing"}]}
    prompts.write_text(json.dumps(coco))
    checkpoint = root / "sam2.1_hiera_tiny.pt"
    torch.manual_seed(0)
    net = build_network(SAM2_CONFIGS["sam2.1_hiera_t"])
    torch.save({"model": net.state_dict()}, checkpoint)
    return folders, prompts, checkpoint


def bench_track(sequences: int, frames: int, repeats: int) -> dict:
    """Wall time of `annotator track SEQ...` locally (in turn) and on Ray (side by side)."""
    cpus = os.cpu_count() or 2
    workers = min(cpus, sequences)
    per = str(cpus // workers)
    on_ray = ["--ray", "--workers", str(workers), "--cpus-per-worker", per]
    configs = {"local (in turn)": [], f"ray, {workers} workers x {per} CPUs": on_ray}
    with tempfile.TemporaryDirectory() as tmp:
        folders, prompts, checkpoint = write_sequences(Path(tmp), sequences, frames)
        times = alternate(configs, repeats, cpus, lambda out: [
            "track", *map(str, folders), "--prompts", str(prompts), "-o", str(out),
            "--checkpoint", str(checkpoint), "--device", "cpu"])  # fmt: skip
    med = {k: statistics.median(v) for k, v in times.items()}
    local = med["local (in turn)"]
    n = sequences * frames
    return {"sequences": sequences, "frames": n, "cpus": cpus, "seconds": med,
            "frames_per_s": {k: n / v for k, v in med.items()},
            "vs_local": {k: local / v for k, v in med.items()}, "runs": times}  # fmt: skip


class NullJob:
    """An ItemJob that does nothing per item: what is left of a run is Ray's own cost."""

    model = "none"
    warning = None

    def setup(self) -> None:
        pass

    def label(self, index: int) -> str:
        return str(index)

    def read(self, index: int) -> None:
        return None

    def process(self, index: int, image: None):
        from annotator.distributed.jobs import ItemOutcome

        return ItemOutcome(index)


def bench_overhead(n: int, repeats: int) -> dict:
    """Seconds per item of a Ray run of `NullJob` over n items (its actors' start included),
    per batch size: Ray Data's cost per image, which a model's per-image time adds to."""
    import ray

    from annotator.distributed.ray_runner import RayOptions, run_on_ray

    cpus = os.cpu_count() or 2
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, logging_level="WARNING")
    per_item: dict[int, list[float]] = {1: [], 8: []}
    try:
        for _ in range(repeats):
            for batch in per_item:
                options = RayOptions(workers=cpus, batch_size=batch)
                list(run_on_ray(NullJob(), range(cpus), options))  # warm: Ray's worker pool
                start = time.perf_counter()
                done = sum(1 for _ in run_on_ray(NullJob(), range(n), options))
                per_item[batch].append((time.perf_counter() - start) / done)
                print(f"  overhead, batch {batch}: {per_item[batch][-1] * 1e3:.1f} ms/item",
                      file=sys.stderr, flush=True)  # fmt: skip
    finally:
        ray.shutdown()
    return {"items": n, "workers": cpus,
            "s_per_item": {b: statistics.median(v) for b, v in per_item.items()},
            "runs": per_item}  # fmt: skip


def print_tables(report: dict) -> None:
    for row in report.get("encoder", []):
        print(f"\nencoder batching, {row['model']} ({row['precision']} encoder), images/s:")
        print("| batch | images/s | vs batch 1 |\n|---|---|---|")
        for b in BATCHES:
            print(f"| {b} | {row['images_per_s'][b]:.2f} | {row['vs_batch_1'][b]:.2f}x |")
    if "ray" in report:
        r = report["ray"]
        print(f"\nannotator segment, {r['images']} images, {r['cpus']} CPUs (median wall time):")
        print("| run | s | images/s | vs local |\n|---|---|---|---|")
        for k, v in r["seconds"].items():
            print(f"| {k} | {v:.1f} | {r['images_per_s'][k]:.2f} | {r['vs_local'][k]:.2f}x |")
        print(f"Ray overhead per image (1 worker vs local): {r['ray_overhead_s_per_image']:.3f} s")
    if "track" in report:
        t = report["track"]
        print(f"\nannotator track, {t['sequences']} sequences, {t['frames']} frames, "
              f"{t['cpus']} CPUs (median wall time):")  # fmt: skip
        print("| run | s | frames/s | vs local |\n|---|---|---|---|")
        for k, v in t["seconds"].items():
            print(f"| {k} | {v:.1f} | {t['frames_per_s'][k]:.2f} | {t['vs_local'][k]:.2f}x |")
    if "overhead" in report:
        o = report["overhead"]
        print(
            f"\nRay Data cost per item, a job that does nothing ({o['items']} items, "
            f"{o['workers']} workers, whole run including actor start):"
        )
        print("| batch size | ms per item |\n|---|---|")
        for b, v in o["s_per_item"].items():
            print(f"| {b} | {v * 1e3:.1f} |")


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="encoder,ray,track,overhead")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sequences", type=int, default=2)
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--overhead-items", type=int, default=200)
    parser.add_argument("--encoder-models", default="lite_medsam,vit_b")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("ANNOTATOR_DECODER", "torch")  # same decoder for every run
    parts = args.part.split(",")
    report: dict = {"torch_threads": torch.get_num_threads()}
    if "encoder" in parts:
        images = photos(8)
        report["encoder"] = [
            bench_encoder(m, images, args.repeats) for m in args.encoder_models.split(",")
        ]
    if "ray" in parts:
        report["ray"] = bench_ray(args.images, args.repeats)
    if "track" in parts:
        report["track"] = bench_track(args.sequences, args.frames, args.repeats)
    if "overhead" in parts:
        report["overhead"] = bench_overhead(args.overhead_items, args.repeats)
    print_tables(report)
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(run())
