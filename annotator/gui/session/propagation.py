"""Propagation in a sequence project, without Qt: which masks steer it, how its results are
written, and how it is undone.

- Objects are tracks: every mask of a frame carries a ``track_id`` (a new object gets the next
  free one when accepted, `track_provenance`); the masks a propagation wrote are marked
  ``propagated`` (the key ``annotator track`` writes too), a mask accepted or edited by hand is
  not.
- `plan` turns the project into a `PropagationJob` for the model worker: the key masks are every
  hand-made mask of the video plus every mask on the start frame (so a propagation can start
  from a frame an earlier one made). With ``replace_edited`` only the start frame's masks steer
  and the propagation may overwrite hand-made masks of the other frames.
- `apply_frame` writes one finished frame at once (autosave and crash safety as for any edit):
  it replaces only propagated masks, never hand-made ones (unless ``replace_edited``), nor the
  mask being edited on the canvas. Cancel keeps every frame written so far. The canvas follows
  the frames as they arrive (``follow``: sequence_follow.py).
- Undo covers the whole propagation as one step: while it runs, its document changes are
  collected instead of journalled, and `finish` records them as one compound step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from annotator.gui.session.events import Message, ProjectChanged
from annotator.gui.session.sequence_follow import FollowPropagation
from annotator.io.commands import Command, Compound
from annotator.io.document import Annotation
from annotator.io.masks import mask_area
from annotator.io.records import PROPAGATED_KEY, ImageRecord
from annotator.io.sequence import FRAME_KEY, TRACK_KEY, VIDEO_KEY, next_track_id

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession

__all__ = ["PROPAGATED_KEY", "KeyMask", "Propagation", "PropagationChanged", "PropagationJob"]
DIRECTIONS = {"forward": (False,), "backward": (True,), "both": (False, True)}


@dataclass(frozen=True)
class KeyMask:
    """A mask that steers the propagation. position: the frame's place in the job's frames;
    mask: (H, W) bool at the frame's size."""

    position: int
    object_id: int
    mask: np.ndarray


@dataclass(frozen=True)
class PropagationJob:
    """What the model worker propagates: frames by path in frame order, key masks on them, from
    ``start`` (a position) in each direction of ``reverse`` (False = forward) in turn."""

    job_id: int
    video: str
    frame_paths: tuple[str, ...]
    keys: tuple[KeyMask, ...]
    start: int
    reverse: tuple[bool, ...]
    replace_edited: bool = False

    @property
    def total(self) -> int:
        """Frames the job yields (the start frame once per direction)."""
        n = len(self.frame_paths)
        return sum(self.start + 1 if r else n - self.start for r in self.reverse)


@dataclass(frozen=True)
class PropagationChanged:
    """The propagation started, advanced or ended. seconds_left: None until it is known."""

    running: bool
    done: int = 0
    total: int = 0
    frames_per_second: float = 0.0
    seconds_left: float | None = None
    frame_index: int | None = None  # the frame that just finished


def is_propagated(ann: Annotation) -> bool:
    return bool(ann.provenance.get(PROPAGATED_KEY))


def is_empty(mask) -> bool:
    """A frame's mask of an object that is not on it: None, an empty RLE or an empty array."""
    if mask is None:
        return True
    return mask_area(mask) == 0 if isinstance(mask, dict) else not np.asarray(mask).any()


class Propagation:
    """The sequence commands of one session (``session.sequence``)."""

    def __init__(self, session: AppSession) -> None:
        self._s = session
        self.job: PropagationJob | None = None
        self._next_id = 0
        self._collected: list[Command] = []
        self._applying = False
        self._started = 0.0
        self._done = 0
        self._categories: dict[int, int] = {}
        self._records: list[ImageRecord] = []
        self.follow = FollowPropagation(session)
        session.events.connect(ProjectChanged, self._forget)

    def _forget(self, _event: ProjectChanged) -> None:
        """Another project was adopted: a running job's results have nowhere to go."""
        self.job, self._collected = None, []
        self.follow.stop()

    # -- the sequence shown -----------------------------------------------------------------
    @property
    def video(self) -> str | None:
        """The ``video`` of the image shown, or None for a plain image."""
        s = self._s
        if s.doc is None or s.image_id is None:
            return None
        return s.doc.image(s.image_id).extra.get(VIDEO_KEY)

    def frames(self, video: str | None = None) -> list[ImageRecord]:
        """The frames of `video` (default: the one shown) in frame order."""
        video = video or self.video
        if video is None or self._s.doc is None:
            return []
        frames = [im for im in self._s.doc.images() if im.extra.get(VIDEO_KEY) == video]
        return sorted(frames, key=lambda im: im.extra[FRAME_KEY])

    def position(self) -> int | None:
        """The shown frame's place among `frames` (the slider's value), or None."""
        s = self._s
        for i, im in enumerate(self.frames()):
            if im.id == s.image_id:
                return i
        return None

    def go_to(self, position: int) -> str | None:
        """The file name of frame `position` of the video shown (for the window to open)."""
        frames = self.frames()
        return frames[position].file_name if 0 <= position < len(frames) else None

    def track_provenance(self, ann_id: int | None = None) -> dict:
        """Provenance for a mask accepted by hand on the image shown: on a frame, a new object
        gets the next free track id; a reopened one keeps its own (and a new mask drops its
        ``propagated`` flag: `records.edited_provenance`)."""
        s = self._s
        if self.video is None or s.doc is None or ann_id is not None:
            return {}
        used = (a.provenance.get(TRACK_KEY) for a in s.doc.annotations())
        return {TRACK_KEY: next_track_id(t for t in used if t is not None)}

    def copied_tracks(self, anns: list[Annotation], target_id: int) -> list[dict]:
        """Provenance for copies of `anns` on image `target_id` (Ctrl+Shift+V): on a frame of
        the same video each copy continues its object's track; a copy whose track is already
        on that frame, or that comes from elsewhere, is a new object (the next free track id);
        on a plain image, none."""
        doc = self._s.doc
        video = doc.image(target_id).extra.get(VIDEO_KEY)
        if video is None:
            return [{} for _ in anns]
        on_target = {a.provenance.get(TRACK_KEY) for a in doc.annotations_for(target_id)}
        used = {t for a in doc.annotations() if (t := a.provenance.get(TRACK_KEY)) is not None}
        out = []
        for ann in anns:
            track = ann.provenance.get(TRACK_KEY)
            same_video = doc.image(ann.image_id).extra.get(VIDEO_KEY) == video
            if track is None or track in on_target or not same_video:
                track = next_track_id(used)
            used.add(track)
            on_target.add(track)
            out.append({TRACK_KEY: track})
        return out

    # -- starting ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def plan(
        self, direction: str = "forward", replace_edited: bool = False
    ) -> tuple[PropagationJob, dict[int, int]]:
        """The job for a propagation from the frame shown, and each track's category;
        ValueError saying why there is none (not a frame, an object still in progress, no
        objects, one already running)."""
        s = self._s
        if self.running:
            raise ValueError("A propagation is running: wait for it or cancel it")
        start = self.position()
        if start is None or s.doc is None:
            raise ValueError("Propagation works on the frames of a video: open a video first")
        if not s.prompts.is_empty:
            raise ValueError("Accept (Enter) or clear (Esc) the object in progress first")
        records = self.frames()
        keys: list[KeyMask] = []
        categories: dict[int, int] = {}
        for pos, image in enumerate(records):
            for ann in s.doc.annotations_for(image.id):
                track = ann.provenance.get(TRACK_KEY)
                if track is None:
                    continue
                categories.setdefault(track, ann.category_id)
                hand = not is_propagated(ann)
                if pos == start or (hand and not replace_edited):
                    keys.append(KeyMask(pos, track, s.masks.mask(ann)))
                    if pos == start:
                        categories[track] = ann.category_id
        if not keys:
            raise ValueError("No objects to propagate: mark an object and accept it (Enter)")
        self._next_id += 1
        root = s.doc.images_root
        return PropagationJob(
            self._next_id,
            records[start].extra[VIDEO_KEY],
            tuple(str(root / im.file_name) for im in records),
            tuple(keys),
            start,
            DIRECTIONS[direction],
            replace_edited,
        ), categories

    def begin(self, job: PropagationJob, categories: dict[int, int]) -> None:
        """The window sent `job` to the worker: collect its changes from now on."""
        s = self._s
        self.job, self._categories = job, categories
        self._records = self.frames(job.video)
        self._collected, self._done, self._started = [], 0, time.monotonic()
        s.doc.set_recorder(self._record)
        self.follow.start()
        s.events.emit(PropagationChanged(True, 0, job.total))

    def _record(self, command: Command) -> None:
        if self._applying:
            self._collected.append(command)
        else:  # the user's own edits meanwhile stay steps of their own
            self._s.journal.record_command(command)

    # -- results ----------------------------------------------------------------------------
    def job_frame(self, position: int) -> ImageRecord | None:
        """The running job's frame at `position`, or None."""
        ok = self.job is not None and 0 <= position < len(self._records)
        return self._records[position] if ok else None

    def apply_frame(self, job_id: int, position: int, object_ids, masks, shown=None) -> None:
        """One finished frame: object_ids (N,); masks: N RLEs at the frame's size (None: not on
        the frame; what the worker sends), or (N, H, W) bool. shown: the worker's
        `ShownFrame` (``image`` (H, W, 3) uint8 RGB, ``masks`` (N, H, W) bool) or None; with
        it, showing the frame reads no file and decodes no RLE on this thread."""
        job, s = self.job, self._s
        if job is None or job_id != job.job_id or s.doc is None:
            return  # a frame of a cancelled or finished job still in the queue
        image = self._records[position]
        by_track = {a.provenance.get(TRACK_KEY): a for a in s.doc.annotations_for(image.id)}
        editing = s.prompts.state.source
        written: dict[int, int] = {}  # annotation id -> index of its mask in `masks`
        self._applying = True
        try:
            with s.events.burst():
                with s.doc.batch("propagate"):
                    for i, (object_id, mask) in enumerate(zip(object_ids, masks, strict=True)):
                        ann_id = self._write(
                            image, by_track.get(object_id), int(object_id), mask, editing
                        )
                        if ann_id is not None:
                            written[ann_id] = i
                if shown is not None:  # before the burst's redraw of the frame on the canvas
                    anns = {
                        a: (s.doc.annotation(a).rle, shown.masks[i]) for a, i in written.items()
                    }
                    shown = (shown.image, anns)
                    self.follow.seed(anns, image.file_name == s.current)
        finally:
            self._applying = False
        self._done += 1
        elapsed = max(time.monotonic() - self._started, 1e-6)
        fps = self._done / elapsed
        left = (job.total - self._done) / fps if fps > 0 else None
        self.follow.arrived(position, shown)
        s.events.emit(PropagationChanged(True, self._done, job.total, fps, left, position))

    def _write(self, image, ann, object_id: int, mask, editing) -> int | None:
        """Write one object's mask; the id of the annotation that now holds it, or None."""
        doc = self._s.doc
        if ann is not None and (ann.id == editing or not self._may_replace(ann)):
            return None
        if is_empty(mask):
            if ann is not None:
                doc.delete_annotation(ann.id)  # the object left the frame
            return None
        model = self._s.model_name or None
        if ann is None:
            category = self._categories.get(object_id)
            if category is None or category not in {c.id for c in doc.categories()}:
                category = self._s.current_category()
            return doc.add_annotation(image.id, category, mask, track_id=object_id,
                                      propagated=True, model=model)  # fmt: skip
        doc.replace_annotation(ann.id, mask, propagated=True, model=model)
        return ann.id

    def _may_replace(self, ann: Annotation) -> bool:
        return is_propagated(ann) or bool(self.job and self.job.replace_edited)

    def finish(self, job_id: int, cancelled: bool = False, error: str | None = None) -> None:
        """The worker ended `job_id` (done, cancelled or failed): every frame written stays and
        the whole propagation becomes one undo step."""
        job, s = self.job, self._s
        if job is None or job_id != job.job_id:
            return
        self.job = None
        self.follow.stop()
        if s.doc is not None:
            s.doc.set_recorder(s.journal.record_command)
            if self._collected:
                label = f"propagate {self._done} frame{'s' * (self._done != 1)}"
                s.journal.record_command(Compound(label, tuple(self._collected)))
        self._collected = []
        if error is not None:
            text = f"Propagation failed after {self._done} frame(s): {error}"
        elif cancelled:
            text = f"Propagation cancelled: {self._done} frame(s) kept"
        else:
            text = f"Propagated {self._done} frame(s)"
        s.events.emit(PropagationChanged(False, self._done, job.total))
        s.events.emit(Message(text, 8000))
