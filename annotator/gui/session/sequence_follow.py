"""The canvas follows a running propagation, without Qt: each frame is shown as it arrives.

Rules (what an annotator watching a tracker expects):
- on by default (``enabled``, Sequence ▸ Follow the propagation); off, the canvas stays where
  it is;
- the window calls `show_latest` once per burst of arrivals, so frames that arrive together
  are shown once, as the last of them;
- the user takes over: moving to another frame while it runs, or starting an object on the
  frame shown, stops the following for the rest of that propagation (the canvas stays where
  the user works); turning it on again resumes it;
- the frame shown is the one the worker read, with the masks it made (``arrived(position,
  shown)``): no file is read and no RLE decoded on the UI thread; only the newest is kept;
- a frame shown by following is only looked at: the autosave is not flushed for it (its
  timer writes the frames as they come), and the window does not send it to the model to be
  encoded while the propagation runs (main_window.py: on a click, or when the propagation
  ends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.gui.session.events import ImageChanged, Message
from annotator.io.images import ImageReadError

if TYPE_CHECKING:
    from annotator.gui.session.session import AppSession

TAKEN_OVER = "The canvas stays on this frame while you work on it; the propagation goes on"


class FollowPropagation:
    """``session.sequence.follow``: enabled (the user's choice), active (following the job now)."""

    def __init__(self, session: AppSession) -> None:
        self._s = session
        self.enabled = True
        self.active = False
        self._latest: int | None = None  # position of the last frame that arrived, not shown
        self._shown: tuple | None = None  # its (pixels, {annotation id: (rle, bool mask)})
        self._switching = False
        session.events.connect(ImageChanged, self._on_image)

    def set_enabled(self, on: bool) -> None:
        """The user's choice; during a propagation it takes effect at the next frame."""
        self.enabled = on
        self.active = on and self._s.sequence.running

    def start(self) -> None:
        self.active, self._latest, self._shown = self.enabled, None, None

    def stop(self) -> None:
        self.active, self._latest, self._shown = False, None, None

    def arrived(self, position: int, shown: tuple | None = None) -> None:
        """Frame `position` of the running job is written. shown: (its (H, W, 3) uint8 RGB
        pixels, {annotation id: (its RLE object, (H, W) bool mask)}) or None (read it)."""
        self._latest, self._shown = position, shown

    def seed(self, masks: dict, now: bool = True) -> None:
        """Put {annotation id: (RLE object, (H, W) bool mask)} in the decoded-mask cache, when
        `now` (the frame is on the canvas and about to be redrawn); else it waits for
        `show_latest`, so frames never shown keep no decoded masks."""
        for ann_id, (rle, mask) in masks.items() if now else ():
            self._s.masks.seed(ann_id, rle, mask)

    def _on_image(self, _event: ImageChanged) -> None:
        if self.active and not self._switching:
            self.active = False  # the user went to another frame
            self._s.events.emit(Message(TAKEN_OVER, 6000))

    def show_latest(self) -> bool:
        """Show the last frame that arrived, if following; True when the canvas moved."""
        s, position, shown = self._s, self._latest, self._shown
        self._latest = self._shown = None
        if not self.active or position is None:
            return False
        if not s.prompts.is_empty:  # the user is making an object on the frame shown
            self.active = False
            s.events.emit(Message(TAKEN_OVER, 6000))
            return False
        record = s.sequence.job_frame(position)
        if record is None or record.file_name == s.current:
            return False
        image = None
        if shown is not None:
            image, masks = shown
            self.seed(masks)
        self._switching = True
        try:
            return s.open_image(record.file_name, flush_autosave=False, image=image)
        except (ImageReadError, OSError) as exc:
            self.active = False
            s.events.emit(Message(f"Stopped following the propagation: {exc}", 8000))
            return False
        finally:
            self._switching = False
