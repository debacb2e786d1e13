"""Candidate masks of the automatic mask generator, kept cropped to their boxes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class Candidates:
    """Candidate masks, all in original-image pixels. Masks are stored cropped to their box."""

    boxes: list[torch.Tensor] = field(default_factory=list)  # (n, 4) int64 XYXY, inclusive
    iou_preds: list[torch.Tensor] = field(default_factory=list)  # (n,) float
    stability: list[torch.Tensor] = field(default_factory=list)  # (n,) float
    points: list[np.ndarray] = field(default_factory=list)  # (n, 2) float64 xy
    crop_boxes: list[list[int]] = field(default_factory=list)  # XYXY per mask
    patches: list[np.ndarray] = field(default_factory=list)  # (h, w) bool at box top-left

    def box_tensor(self) -> torch.Tensor:
        return torch.cat(self.boxes) if self.boxes else torch.zeros(0, 4, dtype=torch.int64)

    def select(self, keep: list[int]) -> Candidates:
        boxes, ious, stab = self.box_tensor(), torch.cat(self.iou_preds), torch.cat(self.stability)
        points = np.concatenate(self.points)
        idx = torch.as_tensor(keep, dtype=torch.long)
        return Candidates(
            boxes=[boxes[idx.to(boxes.device)]],
            iou_preds=[ious[idx.to(ious.device)]],
            stability=[stab[idx.to(stab.device)]],
            points=[points[np.asarray(keep, dtype=np.int64)]],
            crop_boxes=[self.crop_boxes[i] for i in keep] if self.crop_boxes else [],
            patches=[self.patches[i] for i in keep],
        )

    def extend(self, other: Candidates) -> None:
        for name in ("boxes", "iou_preds", "stability", "points", "crop_boxes", "patches"):
            getattr(self, name).extend(getattr(other, name))

    def __len__(self) -> int:
        return len(self.patches)
