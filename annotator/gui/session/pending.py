"""Objects in progress (not accepted yet) kept with the project, so none is dropped silently.

Each image's unaccepted object (its prompts and the mask on screen) is written into the
project's top-level ``annotator_pending_objects`` key whenever it changes at a save, an
autosave or an image switch, so it survives a save, a crash (the autosave) and a restart, and
comes back with its image. Writing it marks the project dirty: quitting with an object in
progress asks to save, like any other unsaved work.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from annotator.gui.session.prompt_state import (
    Candidates,
    MaskOrigin,
    PromptSnapshot,
    mask_to_logits,
)
from annotator.io.masks import decode_mask, encode_mask

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession

PENDING_KEY = "annotator_pending_objects"  # {file name: object in progress}


def snapshot_to_json(snapshot: PromptSnapshot) -> dict[str, Any] | None:
    """The object as JSON (prompts, the current mask as compressed RLE, its score), or None
    when there is nothing to keep."""
    s = snapshot
    if s.edited is not None:
        mask, score = s.edited, None
    elif s.candidates is not None:
        mask, score = s.candidates.masks[s.chosen], float(s.candidates.scores[s.chosen])
    else:
        mask, score = None, None
    if not s.points and s.box is None and (mask is None or not mask.any()):
        return None
    return {
        "points": [list(p) for p in s.points],
        "labels": list(s.labels),
        "box": list(s.box) if s.box is not None else None,
        "mask": encode_mask(mask) if mask is not None else None,
        "score": score,
        "source": s.source,  # a reopened annotation: Enter writes back to it
        "origin": _origin_to_json(s),  # a found instance taken over: its category, provenance
    }


def _origin_to_json(s: PromptSnapshot) -> dict[str, Any] | None:
    if s.origin is None:
        return None
    untouched = s.edited is not None and s.edited is s.origin.mask
    return {"category": s.origin.category, "provenance": dict(s.origin.provenance),
            "untouched": untouched}  # fmt: skip


def snapshot_from_json(data: dict[str, Any], height: int, width: int) -> PromptSnapshot:
    """Inverse of snapshot_to_json; a mask not of the image's (height, width) is dropped (its
    prompts are asked of the model again)."""
    points = tuple((float(x), float(y)) for x, y in data.get("points") or ())
    labels = tuple(int(v) for v in data.get("labels") or ())
    box = tuple(float(v) for v in data["box"]) if data.get("box") is not None else None
    source = int(data["source"]) if data.get("source") is not None else None
    snap = PromptSnapshot(points=points, labels=labels, box=box, source=source)  # type: ignore[arg-type]
    mask = decode_mask(data["mask"]) if data.get("mask") else None
    if mask is None or mask.shape != (height, width):
        return snap
    origin = data.get("origin")
    if isinstance(origin, dict):  # untouched: the mask is the one found, not yet refined
        found = mask if origin.get("untouched") else None
        provenance = tuple(dict(origin["provenance"]).items())
        snap = replace(snap, origin=MaskOrigin(str(origin["category"]), provenance, found))
    if data.get("score") is None:
        return replace(snap, edited=mask)
    cand = Candidates(mask[None], np.array([data["score"]], np.float32), mask_to_logits(mask))
    return replace(snap, candidates=cand)


class PendingObjects:
    """Keeps ``doc.extra[PENDING_KEY]`` in step with the session's unaccepted objects."""

    def __init__(self, session: AppSession) -> None:
        self._s = session
        self._seen: tuple[object, ...] | None = None

    def load(self) -> None:
        """After adopting a project: its stored objects become the parked ones."""
        s = self._s
        self._seen = None
        stored = s.doc.extra.get(PENDING_KEY) if s.doc is not None else None
        if not isinstance(stored, dict):
            return
        for name, data in stored.items():
            record = s.doc.image_by_file_name(name)
            if record is not None and isinstance(data, dict):
                try:
                    s.parked[name] = snapshot_from_json(data, record.height, record.width)
                except (KeyError, TypeError, ValueError):
                    continue  # a damaged entry is skipped; the project itself is fine

    def sync(self) -> None:
        """Write the objects into the project if they changed since the last sync."""
        s = self._s
        if s.doc is None:
            return
        objects = dict(s.parked)
        if s.current is not None:
            objects[s.current] = s.prompts.state
        seen = tuple(sorted((n, id(o)) for n, o in objects.items()))
        if seen == self._seen:
            return  # snapshots are immutable: the same objects, nothing to write
        self._seen = seen
        stored = {n: j for n, o in sorted(objects.items()) if (j := snapshot_to_json(o))}
        if stored != s.doc.extra.get(PENDING_KEY, {}):
            if stored:
                s.doc.extra[PENDING_KEY] = stored
            else:
                s.doc.extra.pop(PENDING_KEY, None)
            s.doc.mark_dirty()
