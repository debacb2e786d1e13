"""What `annotator track` writes: one part file per finished frame, and the project assembled
from them.

``<OUT>.parts/`` holds ``run.json`` (the run's settings, and the hash of the project file as
this command last wrote it) and ``<frame>.json`` per finished frame (every object's mask as
compressed RLE, or null where it is absent, and its object score), each written atomically
when the frame is done: a killed run leaves only whole frames, and the next run with the same
settings continues after the last of them. The project file (OUT) is assembled from all parts
(atomic, `save_project`) every few seconds, at the end and when the run is interrupted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from annotator.atomic import atomic_write_text
from annotator.io.coco_store import save_project, sha256_hex
from annotator.io.document import Document
from annotator.io.masks import decode_mask, encode_mask, mask_area
from annotator.io.records import PROPAGATED_KEY
from annotator.io.sequence_frames import FrameLayout


class TrackOutputError(RuntimeError):
    """The output cannot be written without losing something; the message says what to do."""


class TrackParts:
    """The parts folder of one output project; see the module docstring."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folder = out.with_name(out.name + ".parts")
        self._run = self.folder / "run.json"
        self._may_replace = False  # --force: OUT may be replaced once though not ours

    def _part(self, frame: int) -> Path:
        return self.folder / f"{frame:06d}.json"

    def _recorded(self) -> dict[str, Any] | None:
        try:
            return json.loads(self._run.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def start(self, settings: dict[str, Any], restart: bool, force: bool) -> list[int]:
        """Check the output and the parts against `settings`; returns the finished frames.

        An OUT this command did not write (or that was edited since) is only replaced with
        `force`; parts of a run with other settings are only discarded with `restart`.
        """
        recorded = self._recorded()
        if self.out.exists() and not force:
            if not self.output_current():
                raise TrackOutputError(
                    f"{self.out} exists and was not written by this command or was edited "
                    "since; pass --force to replace it (kept as .bak) or choose another --output"
                )
        if recorded is not None and not restart:
            if recorded.get("settings") != settings:
                changed = sorted(
                    k for k in settings if recorded.get("settings", {}).get(k) != settings[k]
                )
                raise TrackOutputError(
                    f"{self.folder} holds a run with other settings ({', '.join(changed)}); run "
                    "with the same ones to continue it, or pass --restart to start over"
                )
        elif self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._may_replace = force
        self._write_run(settings, (recorded or {}).get("output_sha256"))
        return self.done()

    def output_current(self) -> bool:
        """Whether OUT is the file this command last assembled (not edited since)."""
        stamp = (self._recorded() or {}).get("output_sha256")
        return self.out.is_file() and stamp == sha256_hex(self.out.read_bytes())

    def _write_run(self, settings: dict[str, Any], output_sha256: str | None) -> None:
        body = {"settings": settings, "output_sha256": output_sha256}
        atomic_write_text(self._run, json.dumps(body, indent=1) + "\n")

    def done(self) -> list[int]:
        """The finished frames, sorted."""
        found = []
        for path in self.folder.glob("[0-9]*.json"):
            if path.stem.isdigit():
                found.append(int(path.stem))
        return sorted(found)

    def write(self, frame: int, object_ids: list[int], masks: np.ndarray,
              scores: dict[int, float]) -> None:  # fmt: skip
        """Record a finished frame: (N, H, W) bool masks of `object_ids`."""
        objects = {}
        for object_id, mask in zip(object_ids, masks, strict=True):
            rle = encode_mask(mask) if mask.any() else None
            objects[str(object_id)] = {"rle": rle, "score": scores.get(object_id)}
        atomic_write_text(self._part(frame), json.dumps({"frame_index": frame, "objects": objects}))

    def read(self, frame: int) -> dict[int, np.ndarray | None]:
        """A finished frame's masks by object id (None: absent there)."""
        data = json.loads(self._part(frame).read_text(encoding="utf-8"))
        return {int(k): None if v["rle"] is None else decode_mask(v["rle"])
                for k, v in data["objects"].items()}  # fmt: skip

    def assemble(
        self, layout: FrameLayout, categories: list[dict], category_of: dict[int, int], model: str
    ) -> int:
        """Write OUT from every finished frame (frames in order, one annotation per present
        object with its track_id); returns the number of frames written."""
        frames = self.done()
        h, w = layout.size
        skeleton = {"images": [], "annotations": [], "categories": [
            {k: c[k] for k in ("id", "name", "supercategory", "color") if k in c}
            for c in categories
        ]}  # fmt: skip
        doc = Document.from_coco(skeleton, layout.images_root)
        with doc.batch("tracked masks"):
            for frame in frames:
                image = doc.add_image(layout.file_names[frame], w, h, video=layout.video,
                                      frame_index=frame)  # fmt: skip
                data = json.loads(self._part(frame).read_text(encoding="utf-8"))
                for key, entry in data["objects"].items():
                    rle = entry["rle"]
                    if rle is None or mask_area(rle) == 0:
                        continue
                    object_id = int(key)
                    extra = {"object_score": entry["score"], "model": model, PROPAGATED_KEY: True}
                    doc.add_annotation(image, category_of[object_id], rle, track_id=object_id,
                                       **extra)  # fmt: skip
        recorded = self._recorded() or {}
        if self.out.exists() and not self._may_replace:
            if recorded.get("output_sha256") != sha256_hex(self.out.read_bytes()):
                raise TrackOutputError(
                    f"{self.out} was changed by another program while tracking; it is left "
                    f"alone (the frames stay in {self.folder}: run again with --force to write it)"
                )
        save_project(doc, self.out, force=True)  # the file is ours (checked): kept as .bak
        self._may_replace = False
        self._write_run(recorded.get("settings", {}), doc.disk_state.sha256)
        return len(frames)
