"""`annotator evaluate interactive | prelabels`: how good is a model on the user's own data?

``interactive`` runs the standard simulated-annotator protocol (engine/evaluation) for each
--checkpoint and --mode on a ground-truth file and reports NoC@85/90, fail rates and mIoU@k per
object, per category and overall. ``prelabels`` scores pre-labels (an ``amg`` or ``segment``
project, or any COCO results file) with COCOeval AP/AR and a matching view (io/evaluation).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from annotator.cli._common import DEVICE_HELP, DTYPE_HELP, MODEL_TYPE_HELP, load_predictor
from annotator.engine.evaluation import MODES
from annotator.engine.modeling.architectures import MODEL_TYPES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a model on your own ground truth (NoC, mIoU per click, COCO AP)",
        description="Simulated interactive annotation, or COCO AP of pre-labels, with plots.",
    )
    commands = parser.add_subparsers(dest="evaluate_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])

    inter = commands.add_parser(
        "interactive",
        help="simulated clicks: NoC@85/90, fail rates, mIoU after k clicks",
        description=(
            "Simulate an annotator on every ground-truth object: the first click at the "
            "object's most interior point, each next one in the largest error region (positive "
            "for missed pixels, negative for extra ones). Writes summary.json, per_object.csv "
            "and miou_vs_clicks.png to --output."
        ),
    )
    inter.add_argument(
        "gt", metavar="GT", help="COCO instances file, project file or LabelMe folder"
    )
    inter.add_argument("--images-root", metavar="DIR", help="where the GT's file names resolve")
    inter.add_argument(
        "--checkpoint",
        action="append",
        metavar="PATH",
        help="checkpoint file or known model name; repeat to compare (default: bundled LiteMedSAM)",
    )
    inter.add_argument(
        "--model-type", default="auto", choices=("auto", *MODEL_TYPES), help=MODEL_TYPE_HELP
    )
    inter.add_argument("--device", default="auto", help=DEVICE_HELP)
    inter.add_argument("--dtype", default="auto", help=DTYPE_HELP)
    inter.add_argument(
        "--mode",
        action="append",
        choices=MODES,
        help="clicks (default), box (the GT box alone), box+clicks; repeat to compare",
    )
    inter.add_argument("--max-clicks", type=int, default=20, help="interactions per object")
    inter.add_argument(
        "--box-jitter",
        type=float,
        default=0.0,
        metavar="PCT",
        help="move each box edge by up to PCT %% of the box side (seeded)",
    )
    inter.add_argument("--seed", type=int, default=0, help="seed of the box jitter")
    inter.add_argument(
        "--min-area",
        type=int,
        default=0,
        metavar="PX",
        help="skip (and count) objects smaller than this",
    )
    inter.add_argument(
        "--no-feedback",
        action="store_true",
        help="do not feed the previous low-res logits back as mask_input",
    )
    inter.add_argument(
        "--no-multimask",
        action="store_true",
        help="one mask on the first click instead of the best of three",
    )
    inter.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder")
    inter.set_defaults(func=cmd_interactive)

    pre = commands.add_parser(
        "prelabels",
        help="COCO AP/AR of pre-labels against ground truth, and what is left to fix",
        description="COCOeval segm and bbox AP/AR, the share of objects matched, a PR curve.",
    )
    pre.add_argument("gt", metavar="GT", help="COCO instances file or project file")
    pre.add_argument(
        "predictions",
        metavar="PREDICTIONS",
        help="COCO results list, or a project / COCO file (amg, segment)",
    )
    pre.add_argument("--max-dets", type=int, default=100, help="detections per image for AP")
    pre.add_argument(
        "--class-agnostic",
        action="store_true",
        default=None,
        help="ignore categories (default: only when none match the GT's)",
    )
    pre.add_argument("--output", "-o", required=True, metavar="DIR", help="output folder")
    pre.set_defaults(func=cmd_prelabels)


def _fail(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _write(path: Path, text: str) -> None:
    from annotator.atomic import atomic_write_bytes

    atomic_write_bytes(path, text.encode("utf-8"))


def _label(model: Any, checkpoint: str | None) -> str:
    source = getattr(model, "checkpoint_path", None)
    return Path(source).stem if source else (checkpoint or getattr(model, "model_type", "model"))


def _make_predictor(checkpoint: str | None, args: argparse.Namespace) -> Any:
    """The engine Predictor for one --checkpoint (None: the bundled model)."""
    return load_predictor(args, checkpoint)


def _load_runs(args: argparse.Namespace) -> list[Any]:
    """One Run per (checkpoint, mode); each checkpoint is loaded once."""
    from annotator.engine.evaluation.runner import Run
    from annotator.engine.evaluation.session import SessionOptions

    modes = list(dict.fromkeys(args.mode or ["clicks"]))
    runs, names = [], set()
    for checkpoint in args.checkpoint or [None]:
        predictor = _make_predictor(checkpoint, args)
        label = _label(predictor.model, checkpoint)
        if "clicks" in modes and getattr(predictor.model, "prompt_hint", "") == "boxes":
            print(
                f"note: {label} is trained for box prompts; clicks alone give it weak masks",
                file=sys.stderr,
            )
        for mode in modes:
            name, n = f"{label} [{mode}]", 2
            while name in names:
                name, n = f"{label} #{n} [{mode}]", n + 1
            names.add(name)
            options = SessionOptions(
                mode, args.max_clicks, not args.no_feedback, not args.no_multimask
            )
            runs.append(Run(name, predictor, options))
    return runs


def _file_key(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _image_loader(path: Path, height: int, width: int):
    from annotator.io.images import read_image

    cache: list[Any] = []

    def load() -> Any:
        if not cache:
            image = read_image(path)
            if image.shape[:2] != (height, width):
                raise ValueError(
                    f"image {path.name} is {image.shape[1]}x{image.shape[0]}, "
                    f"the GT says {width}x{height}"
                )
            cache.append(image)
        return cache[0]

    return load


def cmd_interactive(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from annotator.engine.errors import CheckpointError
    from annotator.engine.evaluation.report import build_summary, format_tables, per_object_csv
    from annotator.engine.evaluation.runner import EvalObject, ImageStateCache, evaluate_image
    from annotator.io.evaluation.ground_truth import load_ground_truth
    from annotator.io.evaluation.plots import plot_miou_vs_clicks
    from annotator.io.formats.common import FormatError

    if args.max_clicks < 1 or args.box_jitter < 0:
        return _fail("--max-clicks must be at least 1 and --box-jitter not negative")
    try:
        gt = load_ground_truth(args.gt, args.images_root, args.min_area)
    except (FormatError, OSError) as exc:
        return _fail(str(exc))
    bad = [{"where": where, "reason": reason} for where, reason in gt.problems]
    if gt.n_objects == 0:
        for item in bad[:20]:
            print(f"  {item['where']}: {item['reason']}", file=sys.stderr)
        return _fail(f"no usable ground-truth objects in {args.gt} (skipped: {gt.skipped})")
    try:
        runs = _load_runs(args)
    except (CheckpointError, ValueError, OSError) as exc:
        return _fail(str(exc))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)

    results: list[Any] = []
    cache = ImageStateCache(capacity=max(2, len(runs)))
    partial = False
    bar = tqdm(
        total=gt.n_objects * len(runs), unit="obj", desc="evaluate", file=sys.stderr, disable=None
    )
    try:
        for image in gt.images:
            path = gt.images_root / image.file_name
            objects = []
            for obj in image.objects:
                try:
                    objects.append(EvalObject(obj.object_id, obj.category, obj.mask()))
                except ValueError as exc:
                    bad.append(
                        {
                            "where": f"object {obj.object_id} ({image.file_name})",
                            "reason": f"malformed mask: {exc}",
                        }
                    )
                    bar.update(len(runs))
            done = 0
            try:
                load = _image_loader(path, image.height, image.width)
                for res in evaluate_image(
                    runs,
                    image.file_name,
                    _file_key(path),
                    load,
                    objects,
                    cache,
                    args.box_jitter,
                    args.seed,
                ):
                    done += 1
                    bar.update(1)
                    if res.error:
                        bad.append(
                            {
                                "where": f"object {res.object_id} ({image.file_name}), {res.run}",
                                "reason": res.error,
                            }
                        )
                    else:
                        results.append(res)
            except (ValueError, OSError) as exc:  # unreadable image, wrong size
                for obj in objects:
                    bad.append(
                        {"where": f"object {obj.object_id} ({image.file_name})", "reason": str(exc)}
                    )
                bar.update(len(objects) * len(runs) - done)
    except KeyboardInterrupt:
        partial = True
    finally:
        bar.close()

    summary = build_summary(
        runs,
        results,
        partial=partial,
        ground_truth=str(args.gt),
        images_root=str(gt.images_root),
        options={
            "max_clicks": args.max_clicks,
            "box_jitter": args.box_jitter,
            "seed": args.seed,
            "min_area": args.min_area,
        },
        objects={
            "evaluated": len({(r.image, r.object_id) for r in results}),
            "skipped_crowd": gt.skipped["crowd"],
            "skipped_small": gt.skipped["small"],
            "bad": len(bad),
        },
        embedding_cache={
            "encodes": cache.encodes,
            "reuses": cache.reuses,
            "encode_seconds": round(cache.encode_seconds, 3),
        },
        bad_objects=bad,
    )
    _write(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    _write(
        out / "per_object.csv", per_object_csv(results, max(r.options.interactions for r in runs))
    )
    curves = {
        name: run["overall"]["mIoU"]
        for name, run in summary["runs"].items()
        if run["overall"]["mIoU"]
    }
    title = "mIoU after k interactions" + (" (PARTIAL: interrupted)" if partial else "")
    plot_miou_vs_clicks(curves, out / "miou_vs_clicks.png", title=title)

    print(format_tables(summary))
    o = summary["objects"]
    print(
        f"\n{o['evaluated']} objects evaluated; skipped {o['skipped_crowd']} crowd, "
        f"{o['skipped_small']} under --min-area, {o['bad']} with bad GT. "
        f"Images encoded {cache.encodes}x, reused {cache.reuses}x. -> {out}"
    )
    if bad:
        print("bad ground truth (skipped):", file=sys.stderr)
        for item in bad[:50]:
            print(f"  {item['where']}: {item['reason']}", file=sys.stderr)
        if len(bad) > 50:
            print(f"  ... and {len(bad) - 50} more in summary.json", file=sys.stderr)
    if partial:
        print(
            "interrupted: the summary covers the objects done so far (partial: true)",
            file=sys.stderr,
        )
        return 130
    return 1 if bad else 0


def cmd_prelabels(args: argparse.Namespace) -> int:
    from annotator.io.evaluation.plots import plot_pr_curves
    from annotator.io.evaluation.prelabels import (
        STAT_NAMES,
        evaluate_prelabels,
        load_gt_dict,
        load_predictions,
    )
    from annotator.io.formats.common import FormatError

    try:
        gt = load_gt_dict(Path(args.gt))
        results, notes = load_predictions(Path(args.predictions), gt)
        report = evaluate_prelabels(gt, results, args.max_dets, args.class_agnostic)
    except (FormatError, OSError, KeyError, TypeError, ValueError) as exc:
        return _fail(f"{exc}")
    report.notes[:0] = notes
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "prelabels.json", json.dumps(report.to_json(), indent=1) + "\n")
    curves = {
        f"{kind} {label}": curve for kind, pr in report.pr.items() for label, curve in pr.items()
    }
    plot_pr_curves(curves, out / "pr_curve.png", title="pre-labels: precision / recall")

    shown = STAT_NAMES[:9]
    rows = [["type", *shown]]
    for kind, stats in report.stats.items():
        rows.append([kind, *(f"{stats[n]:.3f}" if stats[n] >= 0 else "-" for n in shown)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)))
    c, m = report.counts, report.matching
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    print(
        f"\n{c['gt_objects']} GT objects, {c['predictions']} predictions, {c['images']} images"
        f"{' (class-agnostic)' if report.class_agnostic else ''}"
    )
    print(
        f"GT objects matched by some prediction: {pct(m['gt_matched@50'])} at IoU >= 0.5, "
        f"{pct(m['gt_matched@75'])} at IoU >= 0.75"
    )
    print(f"predictions matching no object (IoU < 0.5): {pct(m['predictions_unmatched'])}")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"-> {out}", file=sys.stderr)
    return 0
