"""The window's part of editing accepted masks (issue 15): double-click a mask, or select it
and press Enter / E / R, to reopen it as the object in progress; Enter writes it back.

The session does the work (``ObjectEditor.reopen`` and its write-back on accept); this class
maps the gestures and keys onto it and keeps the tools in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from annotator.gui.session.journal import PromptStep

if TYPE_CHECKING:
    from annotator.gui.main_window import MainWindow

BRUSHES = ("brush", "eraser", "polygon")  # tools that edit the mask itself


class MaskEditing:
    def __init__(self, window: MainWindow) -> None:
        self.win = window
        self.session = window.session
        #: the mask Enter just accepted (and selected): Enter / E right after it must not reopen
        #: it by accident; selecting it by hand (list, Ctrl+click) makes it reopenable
        self._accepted: int | None = None
        window.canvas.doubleClicked.connect(self.double_click)
        window.canvas.selectAt.connect(self._chosen_by_hand)
        window.mask_list.selected.connect(self._chosen_by_hand)

    def _chosen_by_hand(self, *_args: object) -> None:
        self._accepted = None

    def _reopen_selected(self) -> bool:
        s = self.session
        if s.prompts.is_empty and s.selected is not None and s.selected != self._accepted:
            return s.editor.reopen(s.selected)
        return False

    def double_click(self, x: float, y: float) -> None:
        """Reopen the mask under the pointer. The double-click's first click already reached
        the tool: a lone point it added to an empty object is taken back first."""
        s = self.session
        ann = s.annotation_at(x, y)
        if ann is None:
            return
        state = s.prompts.state
        if self.win.tool_name == "point" and len(state.points) == 1 and state.box is None:
            step = s.journal.undo(s.doc)
            if not (isinstance(step, PromptStep) and s.prompts.is_empty):
                if step is not None:
                    s.journal.redo(s.doc)  # not the lone first click: put it back
                return
            s.editor.cancel_decode()
        s.editor.reopen(ann.id)

    def accept(self) -> int | None:
        """Enter: accept the object (writing a reopened mask back). With nothing in progress
        and a mask selected, reopen it instead. A brush or eraser that touched up a prompted
        object hands back to the prompt tool, so the next drag or click works at once."""
        s, win = self.session, self.win
        if self._reopen_selected():
            return None
        prompted = s.prompts.has_prompts
        # a reopened mask keeps its label; a found one has its phrase's: no label question
        reopened = s.prompts.state.source is not None or s.prompts.state.origin is not None
        ann_id = self._accepted = s.editor.accept()
        if ann_id is not None and prompted and win.tool_name in BRUSHES:
            win.set_tool(win.prompt_tool)
        if ann_id is not None and not reopened:
            win.labels.accepted(ann_id)
        return ann_id

    def brush(self, name: str) -> None:
        """R / E / P: the brush, eraser or polygon tool; on a selected mask with nothing in
        progress, reopen it."""
        self._reopen_selected()
        self.win.set_tool(name)

    def number_key(self, index: int) -> None:
        """Keys 1-9: relabel the selected masks (selection.py). On the mask Enter just accepted
        the label also becomes the next object's category, as before there was a selection."""
        s = self.session
        just_accepted = s.selection == (self._accepted,) and self._accepted is not None
        s.selecting.number_key(index)
        if just_accepted:
            s.set_category_index(index)
