"""One object's prompts and per-frame outputs, and the memory SAM 2.1 attends to on a frame.

Which memories a frame sees follows Meta's ``_prepare_memory_conditioned_features`` with the
SAM 2.1 config: every conditioning frame (t_pos 0), the 6 frames before (after, in reverse)
as non-conditioning memories (t_pos 1..6, the nearest last), and object pointers from the
conditioning frames on the near side and up to 15 frames before; pointer positions are signed
frame distances.

Memory stays bounded over long sequences: an output that no later frame of the running
propagation can use has its large tensors (the 64-channel memory and the low-res logits)
moved to a spill folder on disk and read back only if a later request needs them (a
correction or a propagation restarted behind it); pointers and scores stay in RAM (~1 KiB a
frame).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from annotator.engine.modeling.sam2.tracking import MAX_OBJ_PTRS, NUM_MASKMEM


@dataclass
class FrameOutput:
    """One object on one frame: ``pred_masks`` (1, 1, 4h, 4w) float32 low-res logits (small
    holes filled), ``obj_ptr`` (1, 256), ``score`` (1, 1) object-score logit, ``maskmem``
    (1, 64, h, w) bfloat16 memory or None (not encoded yet)."""

    pred_masks: Tensor | None
    obj_ptr: Tensor
    score: Tensor
    maskmem: Tensor | None
    spilled: Path | None = None

    def load(self) -> FrameOutput:
        if self.spilled is not None:
            saved = torch.load(self.spilled, weights_only=True)
            self.pred_masks, self.maskmem = saved["pred_masks"], saved["maskmem"]
            self.spilled.unlink(missing_ok=True)
            self.spilled = None
        return self

    def spill(self, path: Path) -> None:
        if self.spilled is None:
            torch.save({"pred_masks": self.pred_masks, "maskmem": self.maskmem}, path)
            self.pred_masks = self.maskmem = None
            self.spilled = path


@dataclass
class ObjectTrack:
    """An object's prompts (in model-input pixels) and outputs by frame index."""

    object_id: int
    points: dict[int, tuple[Tensor, Tensor]] = field(default_factory=dict)
    masks: dict[int, Tensor] = field(default_factory=dict)
    cond: dict[int, FrameOutput] = field(default_factory=dict)
    non_cond: dict[int, FrameOutput] = field(default_factory=dict)
    temp: dict[int, FrameOutput] = field(default_factory=dict)  # prompted, not yet encoded
    tracked: dict[int, bool] = field(default_factory=dict)  # frame -> tracked in reverse

    def output(self, frame: int) -> FrameOutput | None:
        out = self.temp.get(frame) or self.cond.get(frame) or self.non_cond.get(frame)
        return out.load() if out is not None else None


@dataclass
class MemoryLayout:
    """Which memories a frame attends to for one object: (t_pos, frame) spatial memories and
    (signed distance, frame) pointers. Objects with equal ``key`` batch together."""

    spatial: list[tuple[int, int, bool]]  # (t_pos, frame, from cond)
    pointers: list[tuple[int, int, bool]]  # (distance, frame, from cond)

    @property
    def key(self) -> tuple:
        return tuple(t for t, _, _ in self.spatial), tuple(d for d, _, _ in self.pointers)


def memory_layout(track: ObjectTrack, frame: int, reverse: bool, num_frames: int) -> MemoryLayout:
    """The memories ``track`` attends to on ``frame`` (not an initial conditioning frame)."""
    spatial = [(0, t, True) for t in track.cond]
    for t_pos in range(1, NUM_MASKMEM):
        t_rel = NUM_MASKMEM - t_pos
        prev = frame + t_rel if reverse else frame - t_rel
        if prev in track.non_cond:
            spatial.append((t_pos, prev, False))
    sign = -1 if reverse else 1
    max_ptrs = min(num_frames, MAX_OBJ_PTRS)
    near = [t for t in track.cond if (t >= frame if reverse else t <= frame)]
    pointers = [((frame - t) * sign, t, True) for t in near]
    for t_diff in range(1, max_ptrs):
        t = frame + t_diff if reverse else frame - t_diff
        if t < 0 or t >= num_frames:
            break
        if t in track.non_cond:
            pointers.append((t_diff, t, False))
    return MemoryLayout(spatial, pointers)


def stack_memory(
    tracks: list[ObjectTrack],
    layouts: list[MemoryLayout],
    maskmem_pos: Tensor,
    tpos_enc: Tensor,
    pointer_pos: Tensor,
) -> tuple[Tensor, Tensor, int]:
    """The batched memory of objects sharing a layout key -> (memory (B, M, 64), positions
    (B, M, 64), number of pointer tokens). maskmem_pos (1, 64, h, w); tpos_enc (7, 1, 1, 64)
    (``maskmem_tpos_enc``); pointer_pos (P, 64) for the layouts' pointer distances."""
    b = len(tracks)
    pos_flat = maskmem_pos.flatten(2).transpose(1, 2).float()  # (1, hw, 64)
    mem, pos = [], []
    for j, (t_pos, _, _) in enumerate(layouts[0].spatial):
        feats = []
        for track, layout in zip(tracks, layouts, strict=True):
            _, t, is_cond = layout.spatial[j]
            out = (track.cond if is_cond else track.non_cond)[t].load()
            feats.append(out.maskmem)
        m = torch.cat(feats).flatten(2).transpose(1, 2).float()  # (B, hw, 64)
        mem.append(m)
        pos.append((pos_flat + tpos_enc[NUM_MASKMEM - t_pos - 1].view(1, 1, -1)).expand(b, -1, -1))
    n_ptr = 0
    if layouts[0].pointers:
        ptrs = torch.stack(
            [
                torch.cat([(tr.cond if c else tr.non_cond)[t].obj_ptr for _, t, c in lay.pointers])
                for tr, lay in zip(tracks, layouts, strict=True)
            ]
        )  # (B, P, 256)
        p, c = ptrs.shape[1], ptrs.shape[2]
        split = c // pointer_pos.shape[-1]
        mem.append(ptrs.reshape(b, p * split, c // split).float())
        pos.append(pointer_pos.repeat_interleave(split, dim=0).unsqueeze(0).expand(b, -1, -1))
        n_ptr = p * split
    return torch.cat(mem, dim=1), torch.cat(pos, dim=1), n_ptr


class SpillFolder:
    """A temporary folder for spilled outputs, removed with the predictor's state."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._cleanup: weakref.finalize | None = None
        self._n = 0

    def path(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="annotator-seq-"))
            # Removed with the predictor too (garbage collection or exit), silently.
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self._n += 1
        return self._dir / f"{self._n}.pt"

    def clear(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
        self._dir = self._cleanup = None


def spill_behind(track: ObjectTrack, frame: int, reverse: bool, spill: SpillFolder) -> None:
    """After ``frame``, spill the non-conditioning output that the frames after it (in the
    direction of travel) no longer read: the one ``NUM_MASKMEM`` frames behind."""
    behind = frame + NUM_MASKMEM if reverse else frame - NUM_MASKMEM
    out = track.non_cond.get(behind)
    if out is not None and out.spilled is None and out.maskmem is not None:
        out.spill(spill.path())
