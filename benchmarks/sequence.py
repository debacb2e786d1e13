"""Sequence propagation: per-frame time against Meta's SAM2VideoPredictor on the same weights in
the same run, and peak memory against sequence length.

Time: Hiera-T SAM 2.1 (random weights, seeded and perturbed, or --checkpoint), one clicked
object on frame 0 of a 1280x720 moving-crop sequence, propagated by both predictors with their
frame steps interleaved (Meta, ours, Meta, ours, ...) so that machine load hits both alike.
The conditioning frame is left out; medians over the rest. Ours runs in float32 (as Meta on
CPU) and, as a third column, in the engine's default precision ("auto": bf16 image encoder
where the CPU has native bf16).

Memory: peak resident memory of a fresh process that propagates one object through 50, 200 and
1,000 frames at 1280x720 (frames generated lazily, masks dropped as they come: the caller's
RLE masks are left out, as the target says), and its ratio to the 50-frame peak. The memory
runs use --memory-image-size (default 256) so that 1,250 frames fit in minutes on a CPU; what
the budget bounds (cached features, the memory bank's window) does not depend on it.

    python benchmarks/sequence.py [--frames 6] [--lengths 50,200,1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
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
PHOTOS = [ROOT.parent / "shared" / "images", ROOT / "sample_data"]
SIZE = (720, 1280)


def _photo() -> np.ndarray:
    for folder in PHOTOS:
        files = sorted(folder.glob("*.jpg")) if folder.is_dir() else []
        if files:
            return cv2.cvtColor(cv2.imread(str(files[0])), cv2.COLOR_BGR2RGB)
    raise SystemExit("no photo found")


class MovingCrop:
    """A lazy (H, W, 3) uint8 sequence: a 1280x720 window sliding over an upscaled photo."""

    def __init__(self, n: int, size: tuple[int, int] = SIZE) -> None:
        h, w = size
        self.n, self.h, self.w = n, h, w
        self.big = cv2.resize(_photo(), (w + 160, h + 90))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < self.n:
            raise IndexError(i)
        k = i % 80
        x, y = 2 * k, k
        return np.ascontiguousarray(self.big[y : y + self.h, x : x + self.w])


def _reference(image_size: int):
    from tests.engine.sequence.oracle import build_oracle

    return build_oracle(image_size)


def _ours(state_path: Path, dtype: str, image_size: int):
    from annotator.engine import SequencePredictor, load_model

    model = load_model(state_path, device="cpu", dtype=dtype)
    if image_size != 1024:
        model.set_image_size(image_size)
    return SequencePredictor(model)


def time_propagation(n: int, image_size: int, checkpoint: str | None) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="seqbench-"))
    ref = _reference(image_size)
    ckpt = Path(checkpoint) if checkpoint else tmp / "sam2.1_hiera_tiny.pt"
    if checkpoint:
        sd = torch.load(ckpt, map_location="cpu", weights_only=True)
        ref.load_state_dict(sd.get("model", sd), strict=False)
    else:
        torch.save({"model": ref.state_dict()}, ckpt)
    frames = MovingCrop(n)
    folder = tmp / "frames"
    folder.mkdir()
    for i in range(n):  # Meta reads JPEG folders only; ours gets the decoded JPEGs too
        cv2.imwrite(str(folder / f"{i}.jpg"), cv2.cvtColor(frames[i], cv2.COLOR_RGB2BGR))
    from annotator.io.frames import open_frames

    point = [[SIZE[1] * 0.45, SIZE[0] * 0.5]]
    runs = {"meta": None, "ours_fp32": None, "ours_auto": None}
    state = ref.init_state(str(folder))
    ref.add_new_points_or_box(state, 0, 1, points=point, labels=[1])
    gens = {"meta": ref.propagate_in_video(state)}
    for name, dtype in (("ours_fp32", "float32"), ("ours_auto", "auto")):
        runs[name] = _ours(ckpt, dtype, image_size)
        runs[name].init_state(open_frames(folder))
        runs[name].add_points_or_box(0, 1, point, [1])
        gens[name] = runs[name].propagate()
    times: dict[str, list[float]] = {k: [] for k in gens}
    masks: dict[str, list[np.ndarray]] = {k: [] for k in gens}
    for _ in range(n):
        for name, gen in gens.items():
            t = time.perf_counter()
            _, _, m = next(gen)
            times[name].append(time.perf_counter() - t)
            masks[name].append(np.asarray(m > 0 if name == "meta" else m).reshape(-1, *SIZE))
    out = {}
    for name, ts in times.items():
        out[name] = {"median_s": statistics.median(ts[1:]), "per_frame_s": ts}
    for name in ("ours_fp32", "ours_auto"):
        out[name]["ratio_vs_meta"] = out[name]["median_s"] / out["meta"]["median_s"]
        ious = []
        for a, b in zip(masks["meta"], masks[name], strict=True):
            union = np.logical_or(a, b).sum()
            ious.append(1.0 if union == 0 else float(np.logical_and(a, b).sum() / union))
        out[name]["min_iou_vs_meta"] = min(ious)
    return out


def held_in_ram(pred) -> dict:
    """What the predictor keeps in RAM that could grow with the frames: the feature cache
    (bounded by its budget) and the per-frame outputs' tensors not spilled to disk (the
    memory bank's window, the prompted frames, and ~1 KiB of pointer and score a frame).
    Reads the engine's private tracks: a measurement, not an API."""
    outputs = ram = 0
    for track in pred._tracks.values():
        for out in (*track.cond.values(), *track.non_cond.values()):
            outputs += 1
            for t in (out.pred_masks, out.obj_ptr, out.score, out.maskmem):
                ram += 0 if t is None else t.numel() * t.element_size()
    return {"features_bytes": pred.features.nbytes, "outputs": outputs, "outputs_bytes": ram}


def peak_memory_child(n: int, image_size: int, checkpoint: str) -> None:
    import resource

    pred = _ours(Path(checkpoint), "auto", image_size)
    pred.init_state(MovingCrop(n))
    pred.add_points_or_box(0, 1, [[SIZE[1] * 0.45, SIZE[0] * 0.5]], [1])
    t = time.perf_counter()
    done = 0
    for done, _ in enumerate(pred.propagate(), 1):
        if done % 10 == 0 or done == n:  # the peak so far: a run cut short still tells it
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            row = {"frames": done, "peak_rss_bytes": peak, "seconds": time.perf_counter() - t}
            print(json.dumps({**row, **held_in_ram(pred)}))
            sys.stdout.flush()


def memory_series(lengths: list[int], image_size: int, max_s: float | None) -> list[dict]:
    """One fresh process per length; one stopped after ``max_s`` seconds gives the peak of the
    frames it did (its row says ``"cut_short": true``)."""
    tmp = Path(tempfile.mkdtemp(prefix="seqbench-"))
    ckpt = tmp / "sam2.1_hiera_tiny.pt"
    torch.save({"model": _reference(image_size).state_dict()}, ckpt)
    rows = []
    for n in lengths:
        cmd = [sys.executable, __file__, "--child", str(n), "--memory-image-size", str(image_size)]
        cmd += ["--checkpoint", str(ckpt), "--threads", str(torch.get_num_threads())]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, env=env, check=True, timeout=max_s
            ).stdout
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        lines = out.strip().splitlines()
        if not lines:
            raise SystemExit(f"{n} frames: no frame done in {max_s} s")
        row = json.loads(lines[-1])
        row["cut_short"] = row["frames"] < n
        rows.append(row)
    base = rows[0]["peak_rss_bytes"]
    for row in rows:
        row["ratio_vs_first"] = row["peak_rss_bytes"] / base
    return rows


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=6, help="frames in the timing run")
    ap.add_argument("--image-size", type=int, default=1024, help="model input size, timing")
    ap.add_argument("--lengths", default="50,200,1000", help="sequence lengths, memory")
    ap.add_argument("--memory-image-size", type=int, default=256)
    ap.add_argument("--max-seconds", type=float, default=None, help="per memory run")
    ap.add_argument("--checkpoint", default=None, help="a SAM 2.1 Hiera-T checkpoint")
    ap.add_argument("--skip-time", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (both sides)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:  # on a shared, oversubscribed CPU one thread avoids OpenMP spin-waits
        torch.set_num_threads(args.threads)
    if args.child is not None:
        peak_memory_child(args.child, args.memory_image_size, args.checkpoint)
        return
    result: dict = {"torch_threads": torch.get_num_threads(), "frame_size": list(SIZE)}
    if not args.skip_time:
        result["time"] = t = time_propagation(args.frames, args.image_size, args.checkpoint)
        print(f"\nper-frame propagation, {args.frames} frames at 1280x720, model {args.image_size}")
        print(f"{'predictor':<12}{'median s':>10}{'x Meta':>9}{'min IoU':>9}")
        for name, row in t.items():
            ratio = row.get("ratio_vs_meta", 1.0)
            low = row.get("min_iou_vs_meta", 1.0)
            print(f"{name:<12}{row['median_s']:>10.3f}{ratio:>9.2f}{low:>9.4f}")
    if not args.skip_memory:
        lengths = [int(x) for x in args.lengths.split(",")]
        rows = memory_series(lengths, args.memory_image_size, args.max_seconds)
        result["memory"] = rows
        print(f"\npeak memory (ours, model {args.memory_image_size}, 1280x720 frames)")
        head = ("frames", "peak MiB", "x first", "s/frame", "feats MiB", "outs", "outs KiB")
        print(f"{head[0]:>7}" + "".join(f"{h:>10}" for h in head[1:]))
        for r in rows:
            cells = (r["peak_rss_bytes"] / 2**20, r["ratio_vs_first"], r["seconds"] / r["frames"])
            cells += (r["features_bytes"] / 2**20, r["outputs"], r["outputs_bytes"] / 1024)
            cut = " (cut short)" if r["cut_short"] else ""
            fmt = ("{:>10.0f}", "{:>10.2f}", "{:>10.3f}", "{:>10.1f}", "{:>10d}", "{:>10.0f}")
            text = "".join(f.format(c) for f, c in zip(fmt, cells, strict=True))
            print(f"{r['frames']:>7}{text}{cut}")
    dump = json.dumps(result, indent=1)
    print(dump)
    if args.json:
        args.json.write_text(dump)


if __name__ == "__main__":
    main()
