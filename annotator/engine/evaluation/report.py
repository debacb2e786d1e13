"""The evaluation's outputs as plain data: summary.json, per_object.csv rows, console tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from annotator.engine.evaluation.metrics import TARGETS, summarize, target_key
from annotator.engine.evaluation.runner import ObjectResult, Run

CSV_FIXED = ("run", "image", "object_id", "category", "area")
CSV_TAIL = ("final_iou", "seconds_per_click", "clicks", "box")


def _stats(results: Sequence[ObjectResult], run: Run) -> dict[str, Any]:
    objs = [{"ious": r.ious, "seconds": r.seconds} for r in results]
    return summarize(objs, run.options.interactions, TARGETS)


def build_summary(
    runs: Sequence[Run], results: Sequence[ObjectResult], **extra: Any
) -> dict[str, Any]:
    """The summary.json dict: ``extra`` first (partial flag, inputs, counts), then per run its
    model, options, ``overall`` stats and ``per_category`` stats (see metrics.summarize)."""
    out: dict[str, Any] = dict(extra)
    out["runs"] = {}
    for run in runs:
        mine = [r for r in results if r.run == run.name]
        categories = sorted({r.category for r in mine})
        out["runs"][run.name] = {
            "model": str(getattr(run.predictor.model, "model_id", "")),
            "checkpoint": str(getattr(run.predictor.model, "checkpoint_path", "") or ""),
            "mode": run.options.mode,
            "interactions": run.options.interactions,
            "feedback": run.options.feedback,
            "multimask_first": run.options.multimask_first,
            "overall": _stats(mine, run),
            "per_category": {
                c: _stats([r for r in mine if r.category == c], run) for c in categories
            },
        }
    return out


def per_object_csv(results: Sequence[ObjectResult], max_interactions: int) -> str:
    """per_object.csv: one row per (run, object), iou@1..iou@max (empty past a run's end)."""
    header = [*CSV_FIXED]
    for t in TARGETS:
        header += [f"NoC@{target_key(t)}", f"failed@{target_key(t)}"]
    header += [*CSV_TAIL, *(f"iou@{k}" for k in range(1, max_interactions + 1))]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, restval="", lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow(r.row(TARGETS))
    return buffer.getvalue()


def _fmt(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if percent else f"{value:.3f}" if value < 10 else f"{value:.2f}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _miou_at(stats: dict[str, Any], k: int) -> str:
    miou = stats.get("mIoU") or []
    return _fmt(miou[k - 1]) if len(miou) >= k else "-"


def format_tables(summary: dict[str, Any]) -> str:
    """The console tables: one row per run, then one per (run, category)."""
    keys = [target_key(t) for t in TARGETS]
    head = [
        "run",
        "objects",
        *(f"NoC@{k}" for k in keys),
        *(f"fail@{k}" for k in keys),
        "mIoU@1",
        "mIoU@3",
        "mIoU@5",
        "mIoU@max",
        "s/click",
    ]
    rows = [head]
    cat_rows = [["run", "category", "objects", f"NoC@{keys[-1]}", "mIoU@1", "mIoU@max"]]
    for name, run in summary["runs"].items():
        s = run["overall"]
        last = len(s["mIoU"]) if s.get("mIoU") else 1
        rows.append(
            [
                name,
                str(s["objects"]),
                *(_fmt(s[f"NoC@{k}"]) for k in keys),
                *(_fmt(s[f"fail@{k}"], True) for k in keys),
                _miou_at(s, 1),
                _miou_at(s, 3),
                _miou_at(s, 5),
                _miou_at(s, last),
                _fmt(s["seconds_per_click"]),
            ]
        )
        for cat, c in run["per_category"].items():
            cat_rows.append(
                [
                    name,
                    cat,
                    str(c["objects"]),
                    _fmt(c[f"NoC@{keys[-1]}"]),
                    _miou_at(c, 1),
                    _miou_at(c, last),
                ]
            )
    text = _table(rows)
    if len(cat_rows) > 1:
        text += "\n\n" + _table(cat_rows)
    return text
