"""PNG plots of the evaluation results, drawn with matplotlib's Agg canvas (no pyplot, so no
global backend or window is involved and nothing needs a display)."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from annotator.atomic import atomic_write_bytes

SIZE_INCHES = (8.0, 5.0)
DPI = 100
"""Every plot is SIZE_INCHES * DPI = 800 x 500 pixels."""


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike[str]) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)


def plot_miou_vs_clicks(
    curves: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    title: str = "mIoU after k interactions",
    targets: Sequence[float] = (0.85, 0.90),
) -> Path:
    """One line per run (entry k-1 = mIoU@k, in [0, 1]) on shared axes, with the NoC targets
    as dotted lines; a one-interaction run (box mode) is a marker at k = 1. Writes an
    800 x 500 PNG atomically and returns its path."""
    fig = _figure()
    ax = fig.add_subplot()
    longest = max((len(c) for c in curves.values()), default=1)
    for name, values in curves.items():
        ks = np.arange(1, len(values) + 1)
        if len(values) == 1:  # box mode: one interaction, a large marker above the lines
            ax.plot(
                ks,
                values,
                linestyle="none",
                marker="D",
                markersize=10,
                zorder=5,
                markeredgecolor="black",
                label=f"{name} (@1 {values[0]:.3f})",
            )
            continue
        style = {"marker": "o", "markersize": 4} if len(values) <= 20 else {}
        label = f"{name} (@1 {values[0]:.3f}, @{len(values)} {values[-1]:.3f})"
        ax.plot(ks, values, label=label, linewidth=2, **style)
    for t in targets:
        ax.axhline(t, color="0.5", linestyle=":", linewidth=1)
        ax.text(longest + 0.2, t, f"{t:.0%}", va="center", fontsize=9, color="0.4")
    lows = [min(v) for v in curves.values() if len(v)]
    ax.set_ylim(max(0.0, min(lows, default=0.0) - 0.05), 1.0)
    ax.set_xlim(0.5, longest + 0.9)
    ax.set_xticks(range(1, longest + 1, 1 if longest <= 20 else 5))
    ax.set_xlabel("interactions (clicks; in the box modes the box is the first)", fontsize=11)
    ax.set_ylabel("mean IoU", fontsize=11)
    ax.set_title(title, fontsize=13)
    ax.grid(True, alpha=0.3)
    if curves:
        ax.legend(loc="best", fontsize=9, framealpha=0.9)
    fig.tight_layout()
    return _save(fig, path)


def plot_pr_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike[str],
    title: str = "precision / recall",
) -> Path:
    """Precision against recall, one line per (label -> (recall, precision)). 800 x 500 PNG."""
    fig = _figure()
    ax = fig.add_subplot()
    for i, (name, (recall, precision)) in enumerate(curves.items()):
        # later lines dashed and thinner, so a curve equal to an earlier one stays visible
        style = {"linestyle": "-", "linewidth": 3} if i < 2 else {"linestyle": "--", "linewidth": 2}
        ax.plot(recall, precision, label=name, **style)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel("recall", fontsize=11)
    ax.set_ylabel("precision", fontsize=11)
    ax.set_title(title, fontsize=13)
    ax.grid(True, alpha=0.3)
    if curves:
        ax.legend(loc="lower left", fontsize=9, framealpha=0.9)
    fig.tight_layout()
    return _save(fig, path)
