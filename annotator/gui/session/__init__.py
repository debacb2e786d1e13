"""The app session: the application's state and commands without Qt (see session.py)."""

from annotator.gui.session.editor import ObjectEditor
from annotator.gui.session.journal import DocStep, Journal, PromptStep
from annotator.gui.session.prompt_state import PromptSession, PromptSnapshot
from annotator.gui.session.session import AppSession

__all__ = [
    "AppSession",
    "DocStep",
    "Journal",
    "ObjectEditor",
    "PromptSession",
    "PromptSnapshot",
    "PromptStep",
]
