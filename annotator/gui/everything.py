""" "Segment everything" in the window: the toolbar button / Tools menu entry (Ctrl+E) asks the
model worker for the automatic generator's masks on the current image, the status bar shows
progress with a Cancel button, and the masks come back as proposals to keep or drop (the
session's Proposals, shown in the ProposalBar and on the canvas). The UI thread never waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QPushButton

from annotator.gui.session.events import ImageChanged, ProposalsChanged
from annotator.gui.widgets.overlays import hex_to_rgb, outline_path
from annotator.gui.widgets.proposals_bar import ProposalBar

if TYPE_CHECKING:
    from PySide6.QtGui import QPainterPath

    from annotator.gui.main_window import MainWindow

BOX_ONLY = (
    "This model was trained with box prompts: segment everything (a grid of single points) "
    "gives poor or no masks with it. Load a SAM or MobileSAM model from the Model menu."
)


class SegmentEverything:
    def __init__(self, win: MainWindow) -> None:
        self.win = win
        self.proposals = win.session.proposals
        self.bar = ProposalBar(win.canvas)
        self.bar.toggled.connect(self.proposals.toggle)
        self.bar.acceptRequested.connect(self.accept)
        self.bar.rejectRequested.connect(self.proposals.reject)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        win.status.addPermanentWidget(self.cancel_button)
        win.session.events.connect(ProposalsChanged, lambda _e: self.refresh())
        win.session.events.connect(ImageChanged, lambda _e: self._image_changed())
        client = win.client
        client.everythingProgress.connect(self._on_progress)
        client.everythingReady.connect(self._on_ready)
        client.errorOccurred.connect(lambda _m: self._stopped())

    @property
    def running(self) -> bool:
        return bool(self.win.client.everything_running)

    def start(self) -> None:
        """Toolbar / Ctrl+E: segment everything on the current image, in the model worker."""
        win = self.win
        if win.session.image is None:
            win.status.showMessage("Open an image first", 4000)
            return
        if self.running:
            win.status.showMessage("Segment everything is already running (Cancel stops it)", 4000)
            return
        win.send_image(only_if_new=True)  # a frame shown during a propagation is not sent yet
        win.client.request_everything()
        win.status.start_busy("Segmenting everything")
        self.cancel_button.show()
        if win.prompt_hint == "boxes":
            win.status.showMessage(BOX_ONLY, 15000)

    def cancel(self) -> None:
        if self.running:
            self.win.client.cancel_everything()
            self.win.status.showMessage("Segment everything cancelled", 4000)
        self._stopped()

    def accept(self) -> list[int]:
        """Enter or Accept: the kept proposals become annotations, one undo step."""
        return self.proposals.accept()

    def layers(self) -> list[tuple]:
        """Canvas layers (mask, colour, selected, outline) of the kept proposals, shown
        highlighted over the committed masks."""
        color = self.win.session.category_color()
        return [(m, color, True, self._outline(m)) for m in self.proposals.kept_masks()]

    def refresh(self) -> None:
        s = self.win.session
        active = self.proposals.active
        self.bar.set_proposals(
            s.image if active else None,
            self.proposals.masks,
            self.proposals.scores,
            self.proposals.kept,
            hex_to_rgb(s.category_color()),
        )  # the canvas layers follow in the view's flush (ProposalsChanged marks them)

    @staticmethod
    def _outline(mask) -> QPainterPath:
        return outline_path(mask)

    def _image_changed(self) -> None:
        """Proposals belong to one image and cost nothing to make again: another image drops
        them, and stops a run (the client drops its result too)."""
        if self.running:
            self.cancel()
        self.proposals.reject()

    def _stopped(self) -> None:
        self.cancel_button.hide()
        self.win.status.ready()

    def _on_progress(self, done: int, total: int) -> None:
        self.win.status.set_busy_progress("Segmenting everything: points", done, total)

    def _on_ready(self, result) -> None:
        self.cancel_button.hide()
        self.win.status.ready(result.seconds, "segmented")
        kept = self.proposals.offer(result.masks, result.scores)
        n = len(result.masks)
        if n == 0:
            text = "Segment everything found no masks on this image."
        else:
            text = f"Segment everything: {n} masks, {kept} kept. Enter accepts, Esc rejects."
        if result.warning:
            text = f"{text} {BOX_ONLY}"
        self.win.status.showMessage(text, 15000)
