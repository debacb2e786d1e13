"""The app's one undo/redo journal, over prompt edits and document changes alike.

A step is either a :class:`PromptStep` (the :class:`PromptSnapshot` from before a prompt change)
or a :class:`DocStep` (one document :class:`~annotator.io.commands.Command`, plus the prompt
snapshot to bring back, if any: undoing Enter puts the object back on the canvas with its
prompts). The document hands its finished commands here (``Document.set_recorder``) instead of
keeping a stack of its own, so there is one history and one limit. Undo pushes the state it
leaves onto the redo stack, so redo restores exactly what was on screen.

The journal is global to the project, not per image: switching images drops the prompt steps
(they belong to the image left behind) but keeps every document step, so Ctrl+Z can undo an
edit made on another image. See docs/adr/0003-undo-model.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from annotator.gui.session.prompt_state import PromptSession, PromptSnapshot
from annotator.io.commands import Command
from annotator.io.undo_stack import UNDO_LIMIT, UndoStack

JOURNAL_LIMIT = UNDO_LIMIT  # steps kept; prompt snapshots hold full-size masks: bounds memory


class StepTarget(Protocol):
    """What the journal undoes document steps on (a Document)."""

    def revert_step(self, command: Command) -> None: ...
    def apply_step(self, command: Command) -> None: ...


@dataclass(frozen=True)
class PromptStep:
    snapshot: PromptSnapshot


@dataclass(frozen=True)
class DocStep:
    command: Command
    snapshot: PromptSnapshot | None = None


Step = PromptStep | DocStep


class Journal:
    def __init__(self, prompts: PromptSession, limit: int = JOURNAL_LIMIT) -> None:
        self.prompts = prompts
        self._steps: UndoStack[Step] = UndoStack(limit)
        self._carry: PromptSnapshot | None = None

    @property
    def can_undo(self) -> bool:
        return self._steps.can_undo

    @property
    def can_redo(self) -> bool:
        return self._steps.can_redo

    def record_prompt(self) -> None:
        """Call before changing the prompts."""
        self._push(PromptStep(self.prompts.state))

    def record_command(self, command: Command) -> None:
        """The document's recorder: one finished document step (a command or a batch)."""
        self._push(DocStep(command, self._carry))

    @contextlib.contextmanager
    def carrying(self, snapshot: PromptSnapshot) -> Iterator[None]:
        """Document steps recorded inside carry `snapshot` (for Enter: the object as it was on
        the canvas; undoing the commit puts it back there)."""
        self._carry = snapshot
        try:
            yield
        finally:
            self._carry = None

    def _push(self, step: Step) -> None:
        self._steps.push(step)

    def undo(self, target: StepTarget) -> Step | None:
        """Undo the latest step; returns it, or None when there is nothing to undo."""
        step = self._steps.undo(self._swap)
        if isinstance(step, DocStep):
            target.revert_step(step.command)
        return step

    def redo(self, target: StepTarget) -> Step | None:
        step = self._steps.redo(self._swap)
        if isinstance(step, DocStep):
            target.apply_step(step.command)
        return step

    def _swap(self, step: Step) -> Step:
        """Restore the step's snapshot; return the step that goes the other way."""
        if step.snapshot is None:
            return step
        here = self.prompts.state
        self.prompts.restore(step.snapshot)
        if isinstance(step, PromptStep):
            return PromptStep(here)
        return DocStep(step.command, here)

    def forget_prompts(self) -> None:
        """On image switch: prompt steps belong to the image left behind; document steps stay
        (without their snapshots, which would bring that image's object onto this one)."""
        self._steps.keep(lambda s: DocStep(s.command) if isinstance(s, DocStep) else None)
