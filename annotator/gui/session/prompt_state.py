"""The object being segmented: its prompts, the model's candidates and the edited mask.

Everything here is plain numpy (no Qt), in original-image pixel coordinates. The session's
:class:`~annotator.gui.session.editor.ObjectEditor` turns a :class:`PromptSession` into a request
with :meth:`PromptSession.prompt_arrays` and feeds results back with
:meth:`PromptSession.apply_result`. Undo/redo works on :class:`PromptSnapshot` values (see
``journal.py``), so a snapshot carries the result that was on screen, and undoing a click
brings the previous mask back without asking the model again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

LOW_RES = 256  # SAM's mask_input / low-res logits frame (256 x 256)
EDIT_LOGIT = 10.0  # |logit| given to edited pixels; SAM's own logits for a confident mask are ~±10


def mask_to_logits(
    mask: np.ndarray, low_res: int = LOW_RES, logit: float = EDIT_LOGIT
) -> np.ndarray:
    """Convert an edited (H, W) bool mask into SAM ``mask_input`` logits, (1, 256, 256) float32.

    SAM's low-res frame is the model input (longest side resized, padded at the bottom/right)
    scaled to 256: resize the mask the same way (longest side -> 256, INTER_AREA so thin edits
    survive as partial coverage), map coverage c in [0, 1] to logits (2c - 1) * logit, and pad
    with -logit (background), exactly where the padded model input lies.
    """
    h, w = mask.shape
    scale = low_res / max(h, w)
    new_h, new_w = int(h * scale + 0.5), int(w * scale + 0.5)
    cover = cv2.resize(mask.astype(np.float32), (new_w, new_h), interpolation=cv2.INTER_AREA)
    out = np.full((1, low_res, low_res), -logit, np.float32)
    out[0, :new_h, :new_w] = (2.0 * cover - 1.0) * logit
    return out


def stability_score(logits: np.ndarray, threshold: float = 0.0, offset: float = 1.0) -> float:
    """SAM's stability score of one mask's logits ((h, w) float, e.g. the 256 x 256 low-res
    ones): the IoU of the masks thresholded at threshold + offset and threshold - offset, i.e.
    count(logits > t + o) / count(logits > t - o) (the first lies inside the second). 0.0 for
    logits with nothing above t - o. Numpy twin of ``engine.amg.mask_ops.stability_score``."""
    union = int(np.count_nonzero(logits > threshold - offset))
    return int(np.count_nonzero(logits > threshold + offset)) / union if union else 0.0


@dataclass(frozen=True)
class Candidates:
    """The model's answer for the current prompts.

    masks: (C, H, W) bool; scores: (C,) float32 predicted IoU; low_res: (C, 256, 256) float32.
    """

    masks: np.ndarray
    scores: np.ndarray
    low_res: np.ndarray


@dataclass(frozen=True)
class MaskOrigin:
    """A mask another model made (a SAM 3 Find candidate) taken over as the object in progress,
    so that clicks refine it: Enter files it under the category named ``category`` (matched
    case-insensitively, created if missing) with ``provenance`` (key, value pairs) and the
    refinement's own keys over it. ``mask`` is the (H, W) bool mask as it was found."""

    category: str
    provenance: tuple[tuple[str, Any], ...]
    mask: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class PromptSnapshot:
    """Immutable state of one object in progress (what undo/redo swaps)."""

    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None
    candidates: Candidates | None = None
    chosen: int = 0
    #: the brushed mask, (H, W) bool; when set it *is* the current mask
    edited: np.ndarray | None = None
    #: logits the next request starts from when no candidate is on screen yet
    mask_input: np.ndarray | None = None
    #: the accepted annotation reopened for editing (Enter writes the mask back to it)
    source: int | None = None
    #: the found instance this object started from (Enter files it in its category)
    origin: MaskOrigin | None = None


class PromptSession:
    """Mutable holder of the current :class:`PromptSnapshot` with the editing operations."""

    def __init__(self) -> None:
        self.state = PromptSnapshot()

    # -- queries ---------------------------------------------------------------------------
    @property
    def is_empty(self) -> bool:
        s = self.state
        return not s.points and s.box is None and s.edited is None and s.candidates is None

    @property
    def has_prompts(self) -> bool:
        return bool(self.state.points) or self.state.box is not None

    @property
    def current_mask(self) -> np.ndarray | None:
        """(H, W) bool mask that Enter would commit, or None."""
        s = self.state
        if s.edited is not None:
            return s.edited
        if s.candidates is not None:
            return s.candidates.masks[s.chosen]
        return None

    @property
    def current_score(self) -> float | None:
        s = self.state
        if s.edited is not None or s.candidates is None:
            return None
        return float(s.candidates.scores[s.chosen])

    def model_scores(self) -> dict[str, float]:
        """predicted_iou and stability_score of the model mask the current one comes from (the
        chosen candidate, also when the brush edited it since); {} when no model mask is
        involved. The stability score is computed on the candidate's low-res logits with SAM's
        mask threshold 0 and offset 1."""
        s = self.state
        if s.candidates is None:
            return {}
        return {
            "predicted_iou": float(s.candidates.scores[s.chosen]),
            "stability_score": stability_score(s.candidates.low_res[s.chosen]),
        }

    def next_mask_input(self) -> np.ndarray | None:
        """(1, 256, 256) float32 logits the next decode refines from, or None."""
        s = self.state
        if s.edited is not None:
            # An edit refines only an object that has something behind it (prompts, or an
            # accepted mask reopened); a stray stroke on nothing must not steer the next one.
            behind = self.has_prompts or s.source is not None or s.origin is not None
            if behind and s.edited.any():
                return mask_to_logits(s.edited)
            return s.mask_input
        if s.candidates is not None:
            return s.candidates.low_res[s.chosen][None].astype(np.float32)
        return s.mask_input

    def prompt_arrays(
        self,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, bool]:
        """(points (N, 2) float32 xy, labels (N,) int32, box (4,) float32 | None,
        mask_input (1, 256, 256) float32 | None, multimask).

        multimask is True only for the first click of an object (one point, no box, nothing to
        refine from): that is when SAM's answer is ambiguous and the candidates are shown.
        """
        s = self.state
        points = np.array(s.points, np.float32).reshape(-1, 2)
        labels = np.array(s.labels, np.int32)
        box = None if s.box is None else np.array(s.box, np.float32)
        mask_input = self.next_mask_input()
        multimask = len(s.points) == 1 and s.box is None and mask_input is None
        return points, labels, box, mask_input, multimask

    # -- edits (the caller records the snapshot for undo first) ---------------------------
    def _refine_from_current(self, **changes: object) -> None:
        """Apply a prompt change; what is on screen becomes the mask_input of the next decode."""
        mask_input = self.next_mask_input()
        self.state = replace(
            self.state, candidates=None, edited=None, chosen=0, mask_input=mask_input, **changes
        )

    def add_point(self, x: float, y: float, label: int) -> None:
        s = self.state
        self._refine_from_current(
            points=(*s.points, (float(x), float(y))), labels=(*s.labels, label)
        )

    def set_box(self, box: tuple[float, float, float, float]) -> None:
        self._refine_from_current(box=tuple(float(v) for v in box))

    def apply_edit(self, mask: np.ndarray) -> None:
        """The brushed mask becomes the result; prompts stay so the next click refines it."""
        self.state = replace(self.state, edited=mask.astype(bool, copy=True))

    def clear(self) -> None:
        self.state = PromptSnapshot()

    def reopen(self, ann_id: int, mask: np.ndarray) -> None:
        """An accepted annotation's (H, W) bool mask becomes the object in progress: brushes
        edit it, clicks refine it (it is their mask input), Enter writes it back."""
        self.state = PromptSnapshot(edited=mask.astype(bool, copy=True), source=ann_id)

    def take_over(self, origin: MaskOrigin) -> None:
        """A found instance's mask (``origin.mask``, (H, W) bool) becomes the object in
        progress: clicks refine it (it is their mask input), brushes edit it, Enter files it
        as ``origin`` says."""
        assert origin.mask is not None
        self.state = PromptSnapshot(edited=origin.mask, origin=origin)

    @property
    def refined(self) -> bool:
        """The object started from a found instance and was changed since (clicks, a brush)."""
        s = self.state
        return s.origin is not None and (s.edited is None or s.edited is not s.origin.mask)

    def apply_result(self, masks: np.ndarray, scores: np.ndarray, low_res: np.ndarray) -> None:
        """Show the model's answer; the best-scoring candidate is chosen first."""
        cand = Candidates(np.asarray(masks, bool), np.asarray(scores, np.float32), low_res)
        self.state = replace(
            self.state, candidates=cand, chosen=int(np.argmax(cand.scores)), edited=None
        )

    def choose(self, index: int) -> None:
        c = self.state.candidates
        if c is not None and 0 <= index < len(c.scores):
            self.state = replace(self.state, chosen=index, edited=None)

    def cycle(self, step: int = 1) -> None:
        c = self.state.candidates
        if c is not None and len(c.scores) > 1:
            self.choose((self.state.chosen + step) % len(c.scores))

    def restore(self, snapshot: PromptSnapshot) -> None:
        self.state = snapshot
