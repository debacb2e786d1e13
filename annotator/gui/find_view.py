"""Find in the window: the bar, the candidates' overlay, the find tool and the concept model
client, wired to the Qt-free :class:`~annotator.gui.session.find.FindSession`.

Enter and Esc belong to Find while its candidates are on screen (Enter accepts the kept ones,
Esc discards them); otherwise they do what they did before (accept the object in progress,
clear the prompts). A double-click on a candidate takes it over as the object in progress:
the window's point tool then refines it with the interactive model (Enter accepts it, Esc puts
it back), and the Find tool returns for the other candidates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence

from annotator.gui.model.concepts import ConceptAnswer, ConceptClient, ConceptQuery
from annotator.gui.session.events import ImageChanged, Message, PromptsChanged
from annotator.gui.session.find import FindChanged, FindRequested, FindSession, phrase_category
from annotator.gui.tools.find_tool import FindTool
from annotator.gui.widgets.find_bar import FindBar, FindOverlay

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

NEW_CATEGORY_COLOR = "#f58231"  # candidates of a phrase that is not a category yet
POINTS_NEEDED = (
    "{model} works from boxes: to refine a found mask with clicks, load SAM 1 or SAM 2.1 "
    "(Model menu); a box (B) refines it now"
)


class FindController:
    def __init__(self, win: MainWindow, client: ConceptClient | None = None) -> None:
        self.win = win
        session = win.session
        self.session = FindSession(session)
        self.client: ConceptClient | None = None
        self.set_client(client or ConceptClient())
        self.bar = FindBar()
        win.centralWidget().layout().insertWidget(0, self.bar)
        self.overlay = FindOverlay(win.canvas)
        self.tool = FindTool(self.session.toggle_at, self.session.add_exemplar, (1, 1))

        self.bar.submitted.connect(self.submit)
        self.bar.minScoreChanged.connect(self.session.set_min_score)
        self.bar.acceptRequested.connect(self.accept)
        self.bar.discardRequested.connect(self.discard)
        self.bar.exemplarToggled.connect(self._on_exemplar_toggled)
        session.events.connect(FindRequested, self._on_requested)
        session.events.connect(FindChanged, lambda _e: self._redraw())
        session.events.connect(PromptsChanged, lambda _e: self._redraw())
        session.events.connect(ImageChanged, self._on_image_changed)
        win.canvas.doubleClicked.disconnect(win.editing.double_click)
        win.canvas.doubleClicked.connect(self.double_click)

        actions = win.actions_by_name
        actions["find"] = self._action("&Find instances of a phrase…", "Ctrl+F", self.open)
        actions["exemplar"] = self._action(
            "Find by e&xemplar box", "Shift+B", lambda: self.bar.exemplar.toggle()
        )
        for menu_action in win.menuBar().actions():
            if menu_action.text() == "&Edit":
                menu_action.menu().addSeparator()
                menu_action.menu().addActions([actions["find"], actions["exemplar"]])
        self._reroute(actions["commit"], self.enter)
        self._reroute(actions["clear"], self.escape)

    def _action(self, text: str, keys: str, slot) -> QAction:
        action = QAction(text, self.win)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _checked=False: slot())
        self.win.addAction(action)
        return action

    @staticmethod
    def _reroute(action: QAction, slot) -> None:
        """Enter / Esc go through Find first (it hands them on when it is not active)."""
        action.triggered.disconnect()
        action.triggered.connect(lambda _checked=False: slot())

    def set_client(self, client: ConceptClient) -> None:
        """Use ``client`` for the concept model (tests inject one with a fake loader)."""
        if self.client is not None:
            self.client.shutdown()
        self.client = client
        client.found.connect(self._on_found)
        client.failed.connect(self._on_failed)
        client.loading.connect(lambda text: self.win.status.start_busy(text))

    # -- user actions ----------------------------------------------------------------------
    def open(self) -> None:
        """Ctrl+F."""
        self.bar.open()

    def submit(self, text: str | None = None) -> None:
        phrase = self.bar.edit.text() if text is None else text
        if self.session.find(phrase) is not None:
            self.win.canvas.setFocus()  # the next Enter accepts, the next Esc discards

    def accept(self, everything: bool = False) -> None:
        if self.session.state.waiting is not None:
            self.win.status.showMessage("Still finding; press Enter again", 3000)
            return
        self.session.accept(everything)

    def discard(self) -> None:
        self.client.cancel()
        self.session.discard()

    @property
    def refining(self) -> bool:
        """A found instance is the object in progress (clicks refine it)."""
        return self.win.session.prompts.state.origin is not None

    def double_click(self, x: float, y: float) -> None:
        """On a candidate: take it over to refine it; elsewhere the window's double-click
        (reopen the accepted mask under the pointer)."""
        if not (self.session.active and self.session.refine_at(x, y)):
            self.win.editing.double_click(x, y)
            return
        win = self.win
        if win.prompt_hint == "boxes":
            model = win.session.model_name or "This model"
            win.status.showMessage(POINTS_NEEDED.format(model=model), 10000)
        else:
            win.set_tool("point")

    def enter(self) -> None:
        if self.bar.isVisible() and self.bar.edit.hasFocus():
            self.submit()
        elif self.session.active and not self.refining:
            self.accept()
        else:
            self.win.accept()  # the window's Enter: accept, reopen, label pop-up, proposals

    def escape(self) -> None:
        if self.refining:
            self.win.clear_prompts()  # the candidate goes back among the others
        elif self.session.active:
            self.discard()
        elif self.bar.isVisible():
            self.bar.exemplar.setChecked(False)
            self.bar.hide()
            self.win.canvas.setFocus()
        else:
            self.win.clear_prompts()

    def shutdown(self) -> None:
        self.client.shutdown()

    # -- events ------------------------------------------------------------------------------
    def _on_exemplar_toggled(self, on: bool) -> None:
        if on:
            self.bar.show()
        self.tool.set_exemplar_mode(on)
        self._redraw()

    def _on_requested(self, event: FindRequested) -> None:
        e, image = event, self.win.session.image
        query = ConceptQuery(e.request_id, e.image_key, image, e.phrase,
                             e.exemplar_boxes, e.negative_boxes, e.threshold)  # fmt: skip
        self.client.find(query)
        self.win.status.start_busy("Finding")

    def _on_found(self, answer: ConceptAnswer) -> None:
        self.win.status.ready(answer.encode_seconds + answer.query_seconds, "found")
        self.session.apply_result(answer.request_id, answer.image_key, answer.instances)

    def _on_failed(self, message: str) -> None:
        self.win.status.ready()
        self.session.model_failed()
        self.win.session.events.emit(Message(message, 10000))

    def _on_image_changed(self, event: ImageChanged) -> None:
        self.tool.image_size = (event.image.shape[1], event.image.shape[0])
        self.client.cancel()
        self.session.image_changed()

    def _color(self) -> str:
        doc, phrase = self.win.session.doc, self.session.state.phrase
        category = phrase_category(doc, phrase, create=False) if doc and phrase else None
        return NEW_CATEGORY_COLOR if category is None else doc.category(category).color

    def _redraw(self) -> None:
        state = self.session.state
        cands = [(c.mask, c.box, c.score, c.kept) for c in self.session.shown]
        self.overlay.show(cands, state.exemplars, self._color())
        self.bar.set_counts(len(self.session.kept), len(cands), state.waiting is not None)
        wants_tool = (self.session.active or self.tool.exemplar_mode) and not self.refining
        canvas = self.win.canvas
        if wants_tool and canvas.tool is not self.tool:
            canvas.set_tool(self.tool)
            self.win.status.set_hint(self.tool.hint)
        elif not wants_tool and canvas.tool is self.tool:
            self.win.set_tool(self.win.tool_name)
        elif wants_tool:
            self.win.status.set_hint(self.tool.hint)
