""" "Segment everything" proposals: the generator's masks on the current image, waiting for the
user to keep or drop each one. Accepting adds every kept mask as an annotation of the current
category in one document batch, so one Ctrl+Z takes them all back. Existing annotations are
never replaced; proposals that repeat an existing annotation start unkept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from annotator.gui.session.events import Message, ProposalsChanged

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession

DUPLICATE_IOU = 0.8  # a proposal this close to an existing annotation starts unkept


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


class Proposals:
    """masks (N, H, W) bool and scores (N,) float32 on image ``image_id``; ``kept`` indices."""

    def __init__(self, session: AppSession) -> None:
        self._s = session
        self.image_id: int | None = None
        self.masks = np.zeros((0, 0, 0), bool)
        self.scores = np.zeros((0,), np.float32)
        self.kept: set[int] = set()

    @property
    def active(self) -> bool:
        return self.image_id is not None and self.image_id == self._s.image_id

    def offer(self, masks: np.ndarray, scores: np.ndarray) -> int:
        """Show the generator's masks for the current image; returns how many start kept."""
        s = self._s
        if s.image_id is None:
            return 0
        existing = [s.masks.mask(a) for a in s.annotations()]
        self.image_id = s.image_id
        self.masks = np.asarray(masks, bool)
        self.scores = np.asarray(scores, np.float32)
        self.kept = {
            i
            for i, m in enumerate(self.masks)
            if m.any() and all(mask_iou(m, e) < DUPLICATE_IOU for e in existing)
        }
        s.events.emit(ProposalsChanged())
        return len(self.kept)

    def toggle(self, index: int) -> None:
        """Keep or drop proposal ``index``."""
        if self.active and 0 <= index < len(self.masks):
            self.kept ^= {index}
            self._s.events.emit(ProposalsChanged())

    def kept_masks(self) -> list[np.ndarray]:
        return [self.masks[i] for i in sorted(self.kept)] if self.active else []

    def reject(self) -> None:
        """Drop every proposal (nothing was added, so there is nothing to undo)."""
        if self.image_id is None:
            return
        self.image_id, self.kept = None, set()
        self.masks = np.zeros((0, 0, 0), bool)
        self.scores = np.zeros((0,), np.float32)
        self._s.events.emit(ProposalsChanged())

    def accept(self) -> list[int]:
        """Add the kept proposals as annotations of the current category: one undo step.
        Returns the new annotation ids."""
        s = self._s
        masks = self.kept_masks()
        if s.doc is None or s.image_id is None or not masks:
            s.events.emit(Message("No proposals kept: nothing to add", 4000))
            return []
        scores = [float(self.scores[i]) for i in sorted(self.kept)]
        ids: list[int] = []
        with s.events.burst():
            category = s.current_category()
            with s.doc.batch(f"segment everything: {len(masks)} masks"):
                for mask, score in zip(masks, scores, strict=True):
                    ids.append(
                        s.doc.add_annotation(
                            s.image_id,
                            category,
                            mask,
                            predicted_iou=score,
                            model=s.model_name or None,
                        )
                    )
            self.reject()
            n = len(ids)
            s.events.emit(Message(f"Added {n} mask{'s' * (n != 1)} (Ctrl+Z removes them)", 6000))
        return ids
