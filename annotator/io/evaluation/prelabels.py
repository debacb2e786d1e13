"""`annotator evaluate prelabels`: COCO AP/AR of pre-labels against ground truth, plus the view
an annotator cares about (how many objects some pre-label already matches, how many pre-labels
match nothing).

Ground truth: a COCO instances file or one of our project files. Predictions: a COCO results
list ``[{image_id, category_id, segmentation and/or bbox, score}]`` in the GT's image ids, or a
COCO file / project (as written by ``annotator amg`` or ``annotator segment``) whose images are
matched to the GT's by file name (then by base name); its score is ``score``, else
``predicted_iou``, else 1. Category ids are matched by category name when both files name them.
When no prediction's category is a GT category (``amg`` writes one "object" category), the
evaluation is class-agnostic, and says so.

AP/AR come from pycocotools' COCOeval, unchanged (IoU 0.50:0.95, 101 recall points, maxDets 1,
10 and ``max_dets``). The matching view is class-agnostic and uses mask IoU (box IoU for
box-only predictions): ``gt_matched@50``/``@75`` are the shares of non-crowd GT objects whose
best IoU with any prediction on the image is at least 0.5/0.75; ``predictions_unmatched`` is
the share of predictions whose best IoU with any GT object is below 0.5.
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from annotator.io.formats.coco_import import load_json
from annotator.io.formats.common import FormatError
from annotator.io.masks import compress_rle, rle_from_polygons

STAT_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)
"""The 12 numbers of ``COCOeval.stats`` (AR100 is AR at ``max_dets``)."""


@dataclass
class PrelabelReport:
    """stats: iou type ("segm", "bbox") -> {STAT_NAMES: value, -1 where undefined};
    pr: iou type -> {"IoU=0.50": (recall (101,), precision (101,)), ...}; matching: the
    class-agnostic view; counts: gt objects, predictions, images; notes: what was assumed."""

    stats: dict[str, dict[str, float]] = field(default_factory=dict)
    pr: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    matching: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    class_agnostic: bool = False
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "stats": self.stats,
            "matching": self.matching,
            "counts": self.counts,
            "class_agnostic": self.class_agnostic,
            "notes": self.notes,
        }


def _quiet_coco(dataset: dict[str, Any]) -> COCO:
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _to_rle(seg: Any, h: int, w: int) -> dict[str, Any] | None:
    """Any COCO segmentation -> compressed RLE with bytes counts (pycocotools' form), or None."""
    if isinstance(seg, list) and seg:
        rle = rle_from_polygons(seg, h, w, skip_degenerate=True)
    elif isinstance(seg, dict) and isinstance(seg.get("counts"), list):
        rle = compress_rle(seg)
    elif isinstance(seg, dict) and isinstance(seg.get("counts"), (str, bytes)):
        rle = dict(seg)
    else:
        return None
    counts = rle["counts"]
    return {
        "size": list(rle["size"]),
        "counts": counts.encode() if isinstance(counts, str) else counts,
    }


def prepare_ground_truth(data: dict[str, Any]) -> dict[str, Any]:
    """A COCO dict pycocotools evaluates: RLE segmentations, area and iscrowd filled in."""
    out = {k: copy.deepcopy(data.get(k) or []) for k in ("images", "categories", "annotations")}
    sizes = {im["id"]: (im["height"], im["width"]) for im in out["images"]}
    kept = []
    for ann in out["annotations"]:
        h, w = sizes[ann["image_id"]]
        rle = _to_rle(ann.get("segmentation"), h, w)
        if rle is None:
            continue
        ann["segmentation"] = rle
        ann["iscrowd"] = int(ann.get("iscrowd") or 0)
        ann["area"] = float(mask_utils.area(rle))
        if not ann.get("bbox"):
            ann["bbox"] = [float(v) for v in mask_utils.toBbox(rle)]
        kept.append(ann)
    out["annotations"] = kept
    return out


def _image_matcher(gt: dict[str, Any]):
    by_name = {PurePosixPath(im["file_name"]).as_posix(): im["id"] for im in gt["images"]}
    by_base: dict[str, list[int]] = {}
    for name, image_id in by_name.items():
        by_base.setdefault(PurePosixPath(name).name, []).append(image_id)

    def match(file_name: str) -> int | None:
        name = PurePosixPath(file_name.replace("\\", "/")).as_posix()
        if name in by_name:
            return by_name[name]
        candidates = by_base.get(PurePosixPath(name).name, [])
        return candidates[0] if len(candidates) == 1 else None

    return match


def load_predictions(path: Path, gt: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """COCO results (GT image ids) from a results list or a COCO file/project; notes."""
    data = load_json(path)
    notes: list[str] = []
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)], notes
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise FormatError(path, None, "expected a COCO results list or a COCO file")
    match = _image_matcher(gt)
    image_map, missing = {}, []
    for im in data.get("images") or []:
        gt_id = match(str(im.get("file_name", "")))
        if gt_id is None:
            missing.append(str(im.get("file_name")))
        else:
            image_map[im["id"]] = gt_id
    if missing:
        notes.append(
            f"{len(missing)} prediction images are not in the GT, ignored: "
            + ", ".join(missing[:3])
            + (", ..." if len(missing) > 3 else "")
        )
    gt_names = {c["name"]: c["id"] for c in gt["categories"]}
    # Named categories are matched by name; a name the GT lacks maps to None (no GT category).
    cat_map = {c["id"]: gt_names.get(c.get("name")) for c in data.get("categories") or []}
    results = []
    for ann in data["annotations"]:
        if ann.get("image_id") not in image_map:
            continue
        score = ann.get("score")
        if score is None:
            score = ann.get("predicted_iou", 1.0)
        res = {
            "image_id": image_map[ann["image_id"]],
            "category_id": cat_map.get(ann.get("category_id"), ann.get("category_id")),
            "score": float(score),
        }
        for key in ("segmentation", "bbox"):
            if ann.get(key):
                res[key] = ann[key]
        results.append(res)
    return results, notes


def _results_for(kind: str, results: list[dict[str, Any]], sizes) -> list[dict[str, Any]]:
    """Results with only the field COCOeval reads for ``kind`` (so loadRes computes areas from
    it); segm results get RLE, bbox results from a mask-only prediction get its mask's box."""
    out = []
    for r in results:
        base = {k: r[k] for k in ("image_id", "category_id", "score")}
        h, w = sizes[r["image_id"]]
        rle = _to_rle(r.get("segmentation"), h, w) if r.get("segmentation") else None
        if kind == "segm":
            if rle is None:
                continue
            out.append(base | {"segmentation": rle})
        else:
            bbox = r.get("bbox") or (list(mask_utils.toBbox(rle)) if rle is not None else None)
            if bbox is not None:
                out.append(base | {"bbox": [float(v) for v in bbox]})
    return out


def _pr_curves(ev: COCOeval) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    precision = ev.eval["precision"]  # (T, R, K, A, M)
    recall = np.asarray(ev.params.recThrs)
    curves = {}
    for label, t in (("IoU=0.50", 0.5), ("IoU=0.75", 0.75)):
        ti = int(np.argmin(np.abs(ev.params.iouThrs - t)))
        p = precision[ti, :, :, 0, -1]  # all areas, largest maxDets: (R, K)
        valid = p[:, (p > -1).any(axis=0)]
        mean = (
            np.where(valid > -1, valid, 0.0).mean(axis=1) if valid.size else np.zeros_like(recall)
        )
        curves[label] = (recall, mean)
    return curves


def _matching(gt_coco: COCO, results: list[dict[str, Any]], sizes) -> dict[str, float | None]:
    gts: dict[int, list] = {}
    for ann in gt_coco.dataset["annotations"]:
        if not ann.get("iscrowd"):
            gts.setdefault(ann["image_id"], []).append(ann["segmentation"])
    dts: dict[int, list] = {}
    for r in results:
        h, w = sizes[r["image_id"]]
        seg = _to_rle(r.get("segmentation"), h, w) if r.get("segmentation") else None
        if seg is None and r.get("bbox"):
            seg = mask_utils.frPyObjects([list(map(float, r["bbox"]))], h, w)[0]
        if seg is not None:
            dts.setdefault(r["image_id"], []).append(seg)
    best_gt: list[float] = []
    best_dt: list[float] = []
    for image_id in sizes:
        g, d = gts.get(image_id, []), dts.get(image_id, [])
        if g and d:
            ious = np.asarray(mask_utils.iou(d, g, [0] * len(g))).reshape(len(d), len(g))
        else:
            ious = np.zeros((len(d), len(g)))
        best_gt += list(ious.max(axis=0)) if d else [0.0] * len(g)
        best_dt += list(ious.max(axis=1)) if g else [0.0] * len(d)
    share = lambda values, t: float(np.mean(np.asarray(values) >= t)) if values else None  # noqa: E731
    unmatched = float(np.mean(np.asarray(best_dt) < 0.5)) if best_dt else None
    return {
        "gt_matched@50": share(best_gt, 0.5),
        "gt_matched@75": share(best_gt, 0.75),
        "predictions_unmatched": unmatched,
    }


def evaluate_prelabels(
    gt_data: dict[str, Any],
    results: list[dict[str, Any]],
    max_dets: int = 100,
    class_agnostic: bool | None = None,
) -> PrelabelReport:
    """COCOeval segm and bbox, PR curves and the matching view. class_agnostic None: decide
    from the categories (agnostic when no prediction's category is a GT category)."""
    gt = prepare_ground_truth(gt_data)
    gt_coco = _quiet_coco(gt)
    sizes = {im["id"]: (im["height"], im["width"]) for im in gt["images"]}
    report = PrelabelReport()
    unknown = [r for r in results if r.get("image_id") not in sizes]
    if unknown:
        report.notes.append(f"{len(unknown)} predictions on images not in the GT, ignored")
    results = [r for r in results if r.get("image_id") in sizes]
    gt_cats = {c["id"] for c in gt["categories"]}
    if class_agnostic is None:
        class_agnostic = bool(results) and not any(r.get("category_id") in gt_cats for r in results)
        if class_agnostic:
            report.notes.append("no prediction has a GT category: evaluated class-agnostic")
    report.class_agnostic = class_agnostic
    report.counts = {
        "images": len(sizes),
        "gt_objects": sum(1 for a in gt["annotations"] if not a["iscrowd"]),
        "predictions": len(results),
    }
    for kind in ("segm", "bbox"):
        kind_results = _results_for(kind, results, sizes)
        if not kind_results:
            report.notes.append(
                f"no predictions with a {'mask' if kind == 'segm' else 'box'}: no {kind} AP"
            )
            continue
        if class_agnostic:
            kind_results = [r | {"category_id": next(iter(gt_cats))} for r in kind_results]
        with contextlib.redirect_stdout(io.StringIO()):
            dt_coco = gt_coco.loadRes(kind_results)
            ev = COCOeval(gt_coco, dt_coco, kind)
            ev.params.maxDets = [1, 10, max_dets]
            ev.params.useCats = 0 if class_agnostic else 1
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        report.stats[kind] = {n: float(v) for n, v in zip(STAT_NAMES, ev.stats, strict=True)}
        report.pr[kind] = _pr_curves(ev)
    report.matching = _matching(gt_coco, results, sizes)
    return report


def load_gt_dict(path: Path) -> dict[str, Any]:
    """The COCO dict of a GT file (a COCO instances file or a project)."""
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise FormatError(path, None, "not a COCO instances file (no 'images' list)")
    return data
