"""The questions the app asks before anything could lose work (QMessageBox, so tests can patch)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

SB = QMessageBox.StandardButton


def ask_save_changes(parent: QWidget | None, what: str) -> str:
    """ "save" | "discard" | "cancel" before `what` (e.g. "closing") drops unsaved changes."""
    answer = QMessageBox.question(
        parent,
        "Unsaved changes",
        f"The project has unsaved changes. Save them before {what}?",
        SB.Save | SB.Discard | SB.Cancel,
        SB.Save,
    )
    return {SB.Save: "save", SB.Discard: "discard"}.get(answer, "cancel")


def offer_recovery(parent: QWidget | None, sidecar: Path) -> bool:
    """True if the user wants this autosave back (asked once per autosave holding work; each
    window that edited the project writes its own)."""
    answer = QMessageBox.question(
        parent,
        "Recover unsaved work?",
        f"An autosave holding work the project does not was found:\n{sidecar}\n\n"
        "It holds work that was not saved (the app may have crashed). Recover it?\n"
        "No deletes this autosave; other windows' autosaves are asked about in turn.",
        SB.Yes | SB.No,
        SB.Yes,
    )
    return answer == SB.Yes


def ask_changed_on_disk(parent: QWidget | None, path: Path) -> str:
    """ "overwrite" | "save_as" | "cancel" when the project file changed since it was opened."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Project changed on disk")
    box.setText(
        f"{path}\nwas changed by another program since it was opened. "
        "Overwriting it would lose those changes."
    )
    overwrite = box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole)
    save_as = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(SB.Cancel)
    box.setDefaultButton(save_as)
    box.exec()
    clicked = box.clickedButton()
    return "overwrite" if clicked is overwrite else "save_as" if clicked is save_as else "cancel"


def confirm_nonempty_export(parent: QWidget | None, out: Path) -> bool:
    """True if the user agrees to export into a folder that is not empty (the CLI's --force)."""
    return _confirm(
        parent,
        "Folder not empty",
        f"{out}\nis not empty. Exporting into it may replace files there. Export anyway?",
    )


def _confirm(parent: QWidget | None, title: str, text: str) -> bool:
    """Yes / Cancel with Cancel the default: True only for an explicit Yes."""
    return QMessageBox.question(parent, title, text, SB.Yes | SB.Cancel, SB.Cancel) == SB.Yes


def show_report(parent: QWidget | None, title: str, summary: str, lines: list[str]) -> None:
    """What an export or import did, with every note and warning listed (one per line)."""
    QMessageBox.information(parent, title, "\n".join([summary, "", *lines]))


def confirm_replace_project(parent: QWidget | None, project: Path | None) -> bool:
    """True if the user really wants the import to replace the whole open project."""
    return _confirm(
        parent,
        "Replace the project?",
        f"The import will replace every image record, category and mask of\n{project}\n"
        "(the file changes when you save). To add the import to the project instead, use "
        "Import ▸ Add …. Replace the project?",
    )


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    QMessageBox.warning(parent, title, message)


def ask_images_root(parent: QWidget | None, project: Path, recorded: Path) -> Path | None:
    """The images folder for a project that records one outside its own folder, or None.

    The user confirms the recorded folder or picks another; the file alone never decides.
    """
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Where are the images?")
    box.setText(
        f"{project}\nsays its images are in\n{recorded}\noutside the project's folder. "
        "Paths written in a file are not followed without your say. Use that folder?"
    )
    use = box.addButton("Use this folder", QMessageBox.ButtonRole.AcceptRole)
    choose = box.addButton("Choose Folder…", QMessageBox.ButtonRole.ActionRole)
    box.addButton(SB.Cancel)
    box.setDefaultButton(use)
    box.exec()
    clicked = box.clickedButton()
    if clicked is use:
        return recorded
    if clicked is choose:
        folder = QFileDialog.getExistingDirectory(parent, "Images folder", str(recorded.parent))
        return Path(folder) if folder else None
    return None


def confirm_delete_category(parent: QWidget | None, name: str, masks: int) -> bool:
    """True if the user agrees to delete category `name` together with its `masks` masks."""
    answer = QMessageBox.question(
        parent,
        "Delete category?",
        f"Delete the category “{name}” and its {masks} mask(s) on every image?\n"
        "(Edit ▸ Undo brings them back; to keep the masks, merge the category instead.)",
        SB.Yes | SB.Cancel,
        SB.Cancel,
    )
    return answer == SB.Yes
