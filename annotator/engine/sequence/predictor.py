"""``SequencePredictor``: SAM 2.1 mask propagation through a video or a frame folder, with the
semantics of Meta's ``SAM2VideoPredictor`` under ``build_sam2_video_predictor``'s defaults
(multimask on single clicks, stability fallback, click masks binarised for the memory, holes
of <= 8 low-res pixels filled), and one chosen difference: a prompt on a frame that was
already propagated makes it a conditioning frame (Meta's ``add_all_frames_to_correct_as_cond``),
so a correction steers every later propagation.

Objects are batched through memory attention, the decoder and the memory encoder whenever
their memories line up (same conditioning/memory pattern), which is the usual case.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from annotator.engine.modeling.sam2 import Sam2
from annotator.engine.modeling.sam2.tracking import (
    MAX_OBJ_PTRS,
    NO_OBJ_SCORE,
    FrameFeatures,
    HeadOutput,
    Sam2Tracking,
)

from .feature_cache import DEFAULT_BUDGET_BYTES, FeatureCache
from .frames import FrameSequence, as_frame_sequence, checked_frame, frame_to_input
from .heap import TRIM_EVERY, release_free_heap
from .memory_bank import (
    FrameOutput,
    MemoryLayout,
    ObjectTrack,
    SpillFolder,
    memory_layout,
    spill_behind,
    stack_memory,
)

FILL_HOLE_AREA = 8  # build_sam2_video_predictor's fill_hole_area, in low-res pixels


class SequencePredictor:
    """Track objects through a sequence of frames with a SAM 2.1 network.

    ``init_state(frames)``, then prompts (``add_points_or_box``, ``add_mask``) on any frames,
    then ``propagate``; prompts again (corrections) and propagate again. Coordinates are in
    the frame's pixels; masks are (N, H, W) bool at the frame's size, N = len(object_ids).
    """

    def __init__(
        self,
        model: Sam2,
        feature_budget_bytes: int = DEFAULT_BUDGET_BYTES,
        fill_hole_area: int = FILL_HOLE_AREA,
    ) -> None:
        if not isinstance(model, Sam2):
            raise TypeError(f"sequences need a SAM 2.1 model, not {type(model).__name__}")
        self.model = model
        self.tracking = Sam2Tracking(model)
        self.features = FeatureCache(feature_budget_bytes)
        self.fill_hole_area = fill_hole_area
        self._frames: FrameSequence | None = None
        self._sizes: dict[int, tuple[int, int]] = {}
        self._tracks: dict[int, ObjectTrack] = {}
        self._spill = SpillFolder()

    # -- state -----------------------------------------------------------------------------
    def init_state(self, frames: FrameSequence | np.ndarray) -> None:
        """Start a session on ``frames``: any object with ``__len__`` and ``__getitem__(i)`` ->
        (H, W, 3) uint8 RGB (``annotator.io.frames.open_frames(path)`` for a video or a frame
        folder) or an (N, H, W, 3) uint8 array. Frames are read when needed, never all kept."""
        self._frames = as_frame_sequence(frames)
        self.features.clear()
        self._sizes.clear()
        self.reset()

    @property
    def num_frames(self) -> int:
        return len(self._require_frames())

    @property
    def object_ids(self) -> list[int]:
        return list(self._tracks)

    def reset(self) -> None:
        """Forget every object, prompt and result (the frames and cached features stay)."""
        self._tracks.clear()
        self._spill.clear()

    def remove_object(self, object_id: int) -> list[int]:
        """Forget one object (its prompts and results); returns the remaining object ids."""
        if object_id not in self._tracks:
            raise KeyError(f"no object {object_id} (objects: {self.object_ids})")
        del self._tracks[object_id]
        return self.object_ids

    def frame_size(self, frame_index: int) -> tuple[int, int]:
        """(H, W) of a frame (reads it the first time)."""
        self._check_index(frame_index)
        if frame_index not in self._sizes:
            frame = checked_frame(self._require_frames()[frame_index], frame_index)
            self._sizes[frame_index] = frame.shape[:2]
        return self._sizes[frame_index]

    # -- prompts ---------------------------------------------------------------------------
    @torch.inference_mode()
    def add_points_or_box(
        self,
        frame_index: int,
        object_id: int,
        points: np.ndarray | Sequence | None = None,
        labels: np.ndarray | Sequence | None = None,
        box: np.ndarray | Sequence | None = None,
        clear_old_points: bool = True,
    ) -> tuple[list[int], np.ndarray]:
        """Clicks (N, 2) xy in frame pixels with labels (N,) (1 object, 0 background) and/or a
        box (4,) XYXY in frame pixels for ``object_id`` on ``frame_index``. Returns the object
        ids and their current (N, H, W) bool masks on that frame."""
        coords, lbls = self._point_inputs(frame_index, points, labels, box)
        if box is not None and not clear_old_points:
            raise ValueError("a box replaces the frame's earlier clicks: use clear_old_points")
        track = self._tracks.setdefault(object_id, ObjectTrack(object_id))
        old = track.points.get(frame_index)
        if old is not None and not clear_old_points:
            coords, lbls = torch.cat([old[0], coords], 1), torch.cat([old[1], lbls], 1)
        track.points[frame_index] = (coords, lbls)
        track.masks.pop(frame_index, None)
        prev = track.output(frame_index)
        prev_logits = None
        if prev is not None and prev.pred_masks is not None:
            prev_logits = torch.clamp(prev.pred_masks, -32.0, 32.0)
        init = frame_index not in track.tracked
        reverse = track.tracked.get(frame_index, False)
        (out,) = self._run_frame(
            frame_index, [track], init, reverse, (coords, lbls), None, False, prev_logits
        )
        self._set_prompted(track, frame_index, out)
        return self.object_ids, self.frame_masks(frame_index)

    @torch.inference_mode()
    def add_mask(
        self, frame_index: int, object_id: int, mask: np.ndarray
    ) -> tuple[list[int], np.ndarray]:
        """An (H, W) bool mask of ``object_id`` on ``frame_index`` (the frame's size). Returns
        the object ids and their current (N, H, W) bool masks on that frame."""
        h, w = self.frame_size(frame_index)
        mask = np.asarray(mask)
        if mask.shape != (h, w):
            raise ValueError(f"mask shape {mask.shape} does not match frame size {(h, w)}")
        s = self.tracking.image_size
        m = torch.from_numpy(mask.astype(bool)).float()[None, None].to(self.model.device)
        if (h, w) != (s, s):
            m = F.interpolate(m, size=(s, s), mode="bilinear", align_corners=False, antialias=True)
            m = (m >= 0.5).float()
        track = self._tracks.setdefault(object_id, ObjectTrack(object_id))
        track.masks[frame_index] = m
        track.points.pop(frame_index, None)
        init = frame_index not in track.tracked
        reverse = track.tracked.get(frame_index, False)
        (out,) = self._run_frame(frame_index, [track], init, reverse, None, m, False, None)
        self._set_prompted(track, frame_index, out)
        return self.object_ids, self.frame_masks(frame_index)

    def _set_prompted(self, track: ObjectTrack, frame: int, out: FrameOutput) -> None:
        track.temp[frame] = out
        track.cond.pop(frame, None)

    # -- propagation -----------------------------------------------------------------------
    @torch.inference_mode()
    def propagate(
        self, start_frame: int | None = None, max_frames: int | None = None, reverse: bool = False
    ) -> Iterator[tuple[int, list[int], np.ndarray]]:
        """Yield ``(frame_index, object_ids, masks)`` frame by frame from ``start_frame``
        (default: the earliest prompted frame) for up to ``max_frames`` frames after it,
        backwards with ``reverse``; masks (N, H, W) bool. Stopping early keeps every frame
        yielded so far."""
        self._preflight()
        n = self.num_frames
        if start_frame is None:
            start_frame = min(min(t.cond) for t in self._tracks.values())
        self._check_index(start_frame)
        max_frames = n if max_frames is None else max_frames
        if max_frames < 0:
            raise ValueError(f"max_frames must be >= 0, got {max_frames}")
        if reverse:
            end = max(start_frame - max_frames, 0)
            order = range(start_frame, end - 1, -1) if start_frame > 0 else range(0)
        else:
            order = range(start_frame, min(start_frame + max_frames, n - 1) + 1)
        for k, frame in enumerate(order, 1):
            self._track_frame(frame, reverse)
            yield frame, self.object_ids, self.frame_masks(frame)
            if k % TRIM_EVERY == 0:  # else glibc keeps what each frame frees (see heap.py)
                release_free_heap()

    def _preflight(self) -> None:
        """Encode the memories of prompted frames and make them conditioning frames."""
        if not self._tracks:
            raise RuntimeError("no object has a prompt: add points, a box or a mask first")
        for track in self._tracks.values():
            for frame, out in track.temp.items():
                if out.maskmem is None:
                    s = self.tracking.image_size
                    high = F.interpolate(out.pred_masks, size=(s, s), mode="bilinear")
                    mem, _ = self.tracking.encode_memory(
                        self._features(frame), high, out.score, True
                    )
                    out.maskmem = mem.to(torch.bfloat16)
                track.cond[frame] = out
            track.temp.clear()
            if not track.cond:
                raise RuntimeError(f"object {track.object_id} has no prompt on any frame")
            for frame in track.cond:
                track.non_cond.pop(frame, None)

    def _track_frame(self, frame: int, reverse: bool) -> None:
        groups: dict[tuple, list[tuple[ObjectTrack, MemoryLayout]]] = {}
        for track in self._tracks.values():
            if frame not in track.cond:
                layout = memory_layout(track, frame, reverse, self.num_frames)
                groups.setdefault(layout.key, []).append((track, layout))
        for members in groups.values():
            tracks = [t for t, _ in members]
            outs = self._run_frame(
                frame, tracks, False, reverse, None, None, True, None, [lay for _, lay in members]
            )
            for track, out in zip(tracks, outs, strict=True):
                track.non_cond[frame] = out
        for track in self._tracks.values():
            track.tracked[frame] = reverse
            spill_behind(track, frame, reverse, self._spill)

    # -- one frame through the network -----------------------------------------------------
    def _run_frame(
        self,
        frame: int,
        tracks: list[ObjectTrack],
        init: bool,
        reverse: bool,
        points: tuple[Tensor, Tensor] | None,
        mask: Tensor | None,
        run_mem: bool,
        prev_logits: Tensor | None,
        layouts: list[MemoryLayout] | None = None,
    ) -> list[FrameOutput]:
        feats = self._features(frame)
        b = len(tracks)
        tr = self.tracking
        if mask is not None:
            head = tr.mask_as_output(feats.embed.expand(b, -1, -1, -1), feats.high_res, mask)
        else:
            memory = (None, None, 0) if init else self._memory(frame, tracks, reverse, layouts)
            pix = tr.fuse_memory(feats, b, *memory)
            n_pts = 0 if points is None else points[1].shape[1]
            head = tr.sam_heads(pix, feats.high_res, points, prev_logits, multimask=n_pts <= 1)
        maskmem = None
        if run_mem:
            mem, _ = tr.encode_memory(feats, head.high_res, head.score, points is not None)
            maskmem = mem.to(torch.bfloat16)
        pred = self._fill_holes(head.low_res)
        return [self._output(head, pred, maskmem, i) for i in range(b)]

    @staticmethod
    def _output(head: HeadOutput, pred: Tensor, maskmem: Tensor | None, i: int) -> FrameOutput:
        mem = maskmem[i : i + 1].clone() if maskmem is not None else None
        return FrameOutput(
            pred[i : i + 1].clone(), head.obj_ptr[i : i + 1].clone(), head.score[i : i + 1], mem
        )

    def _memory(
        self,
        frame: int,
        tracks: list[ObjectTrack],
        reverse: bool,
        layouts: list[MemoryLayout] | None,
    ) -> tuple[Tensor, Tensor, int]:
        if layouts is None:
            layouts = [memory_layout(t, frame, reverse, self.num_frames) for t in tracks]
        m = self.model
        feats_pos = self._maskmem_pos()
        dists = torch.tensor([d for d, _, _ in layouts[0].pointers], device=m.device)
        ptr_pos = self.tracking.pointer_positions(dists, min(self.num_frames, MAX_OBJ_PTRS))
        return stack_memory(tracks, layouts, feats_pos, m.maskmem_tpos_enc, ptr_pos)

    def _maskmem_pos(self) -> Tensor:
        s = self.tracking.image_size // 16
        return self.model.memory_encoder.position_encoding(
            torch.empty(1, 64, s, s, device=self.model.device)
        )

    def _fill_holes(self, low_res: Tensor) -> Tensor:
        """Background specks (8-connected, <= fill_hole_area low-res pixels) become 0.1, as
        Meta's ``fill_holes_in_mask_scores`` (its CUDA extension; OpenCV here)."""
        if self.fill_hole_area <= 0:
            return low_res
        out = low_res.clone()
        for i in range(out.shape[0]):
            bg = (out[i, 0] <= 0).cpu().numpy().astype(np.uint8)
            n, labels, stats, _ = cv2.connectedComponentsWithStats(bg, connectivity=8)
            if n <= 1:
                continue
            small = stats[:, cv2.CC_STAT_AREA] <= self.fill_hole_area
            small[0] = False  # label 0: the object's pixels
            holes = torch.from_numpy(small[labels]).to(out.device)
            out[i, 0] = torch.where(holes, 0.1, out[i, 0])
        return out

    def _features(self, frame: int) -> FrameFeatures:
        return self.features.get(frame, self._encode)

    def _encode(self, frame: int) -> FrameFeatures:
        image = checked_frame(self._require_frames()[frame], frame)
        self._sizes[frame] = image.shape[:2]
        x = frame_to_input(image, self.tracking.image_size).to(self.model.device)
        return self.tracking.frame_features(self.model.preprocess(x))

    # -- results ---------------------------------------------------------------------------
    def frame_masks(self, frame_index: int) -> np.ndarray:
        """(N, H, W) bool masks of every object on a frame (all False where an object has no
        result there yet)."""
        return self.frame_logits(frame_index).numpy() > 0

    def frame_logits(self, frame_index: int) -> Tensor:
        """(N, H, W) float32 mask logits at the frame's size, on the CPU (NO_OBJ_SCORE where
        an object has no result)."""
        h, w = self.frame_size(frame_index)
        s = self.tracking.image_size // 4
        low = torch.full((len(self._tracks), 1, s, s), NO_OBJ_SCORE, device=self.model.device)
        for i, track in enumerate(self._tracks.values()):
            out = track.output(frame_index)
            if out is not None:
                low[i] = out.pred_masks[0]
        if low.shape[0] == 0:
            return torch.zeros(0, h, w)
        return F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)[:, 0].cpu()

    def object_scores(self, frame_index: int) -> dict[int, float]:
        """Object-score logits (> 0: the object is visible) of the objects with a result on a
        frame."""
        scores = {}
        for oid, track in self._tracks.items():
            out = track.temp.get(frame_index) or track.cond.get(frame_index)
            out = out or track.non_cond.get(frame_index)
            if out is not None:
                scores[oid] = float(out.score)
        return scores

    # -- checks ----------------------------------------------------------------------------
    def _require_frames(self) -> FrameSequence:
        if self._frames is None:
            raise RuntimeError("no sequence: call init_state(frames) first")
        return self._frames

    def _check_index(self, frame_index: int) -> None:
        n = self.num_frames
        if not isinstance(frame_index, int | np.integer) or not 0 <= frame_index < n:
            raise IndexError(f"frame index {frame_index!r} out of range for {n} frames")

    def _point_inputs(self, frame, points, labels, box) -> tuple[Tensor, Tensor]:
        """Clicks and box in frame pixels -> (1, P, 2) model-input pixels, (1, P) int32 labels
        (box corners first, labelled 2 and 3)."""
        h, w = self.frame_size(frame)
        if (points is None) != (labels is None):
            raise ValueError("points and labels must be given together")
        if points is None and box is None:
            raise ValueError("give points with labels, a box, or both")
        pts = np.zeros((0, 2), np.float32) if points is None else np.asarray(points, np.float32)
        lbl = np.zeros((0,), np.int32) if labels is None else np.asarray(labels)
        if pts.ndim != 2 or pts.shape[1] != 2 or lbl.shape != (pts.shape[0],):
            raise ValueError(
                f"points must be (N, 2) with labels (N,), got {pts.shape}, {lbl.shape}"
            )
        if not np.isin(lbl, (0, 1)).all():
            raise ValueError("labels must be 1 (object) or 0 (background)")
        if box is not None:
            b = np.asarray(box, np.float32).reshape(-1)
            if b.shape != (4,):
                raise ValueError(f"box must be 4 numbers x0, y0, x1, y1, got {b.shape}")
            pts = np.concatenate([b.reshape(2, 2), pts])
            lbl = np.concatenate([np.array([2, 3]), lbl])
        if not np.isfinite(pts).all():
            raise ValueError("points and box must be finite")
        s = self.tracking.image_size
        coords = torch.from_numpy(pts)[None] / torch.tensor([w, h], dtype=torch.float32) * s
        dev = self.model.device
        return coords.to(dev), torch.from_numpy(lbl.astype(np.int32))[None].to(dev)
