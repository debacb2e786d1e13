"""The app's undo/redo journal, over prompt edits and document changes alike, per image.

A step is either a :class:`PromptStep` (the :class:`PromptSnapshot` from before a prompt change)
or a :class:`DocStep` (one document :class:`~annotator.io.commands.Command`, plus the prompt
snapshot to bring back, if any: undoing Enter puts the object back on the canvas with its
prompts). The document hands its finished commands here (``Document.set_recorder``) instead of
keeping a stack of its own, so there is one history and one limit. Undo pushes the state it
leaves onto the redo stack, so redo restores exactly what was on screen.

Undo is per image (docs/adr/0003-undo-model.md): every step has a *scope*, the image it
changed (prompt steps: the image shown), or ``None`` for a project-wide step (a category
change, an import, anything touching several images). Ctrl+Z takes the latest step of the image
shown; steps of other images are left for when the user is back there (steps on different
images commute: each touches only its own image's annotations). A project-wide step is a
barrier: it is undone only when no later step of another image depends on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from annotator.gui.session.prompt_state import PromptSession, PromptSnapshot
from annotator.io.commands import Command, Compound, PutCategory
from annotator.io.undo_stack import UNDO_LIMIT

JOURNAL_LIMIT = UNDO_LIMIT  # steps kept; prompt snapshots hold full-size masks: bounds memory

Scope = int | None  # an image id, or None: the whole project


class StepTarget(Protocol):
    """What the journal undoes document steps on (a Document)."""

    def revert_step(self, command: Command) -> None: ...
    def apply_step(self, command: Command) -> None: ...


@dataclass(frozen=True)
class PromptStep:
    snapshot: PromptSnapshot

    @property
    def label(self) -> str:
        return "prompt change"


@dataclass(frozen=True)
class DocStep:
    command: Command
    snapshot: PromptSnapshot | None = None

    @property
    def label(self) -> str:
        return self.command.label


Step = PromptStep | DocStep


@dataclass(frozen=True)
class Blocked:
    """Undo (or redo) of the image shown stops at a project-wide `step`: steps of other images
    (`later`, their image ids) came after it and may depend on it."""

    step: Step
    later: frozenset[int]


def changes_categories(command: Command) -> bool:
    if isinstance(command, Compound):
        return any(changes_categories(c) for c in command.commands)
    return isinstance(command, PutCategory)


def command_scope(command: Command) -> Scope:
    """The one image a command changes; None (project-wide) for several, or for any category
    change: steps of every image may depend on a category."""
    ids = command.image_ids()
    return next(iter(ids)) if len(ids) == 1 and not changes_categories(command) else None


class Journal:
    def __init__(self, prompts: PromptSession, limit: int = JOURNAL_LIMIT) -> None:
        self.prompts = prompts
        self.limit = limit
        #: the image shown (the session sets it on every switch): prompt steps belong to it
        self.scope: Scope = None
        self._undo: list[tuple[Scope, Step]] = []
        self._redo: list[tuple[Scope, Step]] = []
        self._carry: PromptSnapshot | None = None

    @property
    def can_undo(self) -> bool:
        return isinstance(self._pick(self._undo), int)

    @property
    def can_redo(self) -> bool:
        return isinstance(self._pick(self._redo), int)

    def elsewhere(self) -> frozenset[int]:
        """Image ids (other than the one shown) that have steps to undo."""
        return frozenset(s for s, _ in self._undo if s is not None and s != self.scope)

    def record_prompt(self) -> None:
        """Call before changing the prompts."""
        self._push(self.scope, PromptStep(self.prompts.state))

    def record_command(self, command: Command) -> None:
        """The document's recorder: one finished document step (a command or a batch)."""
        scope = command_scope(command)
        carry = self._carry if scope == self.scope else None
        self._push(scope, DocStep(command, carry))

    @contextlib.contextmanager
    def carrying(self, snapshot: PromptSnapshot) -> Iterator[None]:
        """Document steps recorded inside carry `snapshot` (for Enter: the object as it was on
        the canvas; undoing the commit puts it back there)."""
        self._carry = snapshot
        try:
            yield
        finally:
            self._carry = None

    def _push(self, scope: Scope, step: Step) -> None:
        """A new step: nothing of its image (nor anything project-wide) is left to redo; a
        project-wide step leaves nothing to redo at all."""
        self._undo.append((scope, step))
        del self._undo[: -self.limit]
        self._redo = [
            (s, st) for s, st in self._redo if scope is not None and s is not None and s != scope
        ]

    def _pick(self, entries: list[tuple[Scope, Step]]) -> int | Blocked | None:
        """Index of the latest entry the image shown may take: its own, or a project-wide one
        with nothing after it; Blocked at a project-wide one with other images' steps after it;
        None when there is none."""
        for i in range(len(entries) - 1, -1, -1):
            scope, step = entries[i]
            if scope == self.scope and (scope is not None or i == len(entries) - 1):
                return i
            if scope is None:
                later = frozenset(s for s, _ in entries[i + 1 :] if s is not None)
                return i if not later else Blocked(step, later)
        return None

    def undo(self, target: StepTarget) -> Step | Blocked | None:
        """Undo the image's latest step; returns it, Blocked, or None when there is none."""
        return self._move(self._undo, self._redo, target.revert_step)

    def redo(self, target: StepTarget) -> Step | Blocked | None:
        return self._move(self._redo, self._undo, target.apply_step)

    def _move(self, source, dest, run) -> Step | Blocked | None:
        picked = self._pick(source)
        if not isinstance(picked, int):
            return picked
        scope, step = source.pop(picked)
        dest.append((scope, self._swap(step)))
        if isinstance(step, DocStep):
            run(step.command)
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
