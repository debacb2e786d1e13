"""What "open a video or a frame folder as a sequence" means, for the app and ``annotator gui``:
the project file it opens, made (with every frame) when it does not exist yet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from annotator.io.sequence_frames import extract_frames, sequence_project

VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v);;All files (*)"


def sequence_project_path(path: Path) -> Path:
    """A frame folder's project is its annotations.json; a video's sits beside it
    (clip.mp4 -> clip.json)."""
    return path / "annotations.json" if path.is_dir() else path.with_suffix(".json")


def open_sequence(path: Path, progress: Callable[[int, int], None] | None = None) -> Path:
    """The project file for a video file (its frames extracted first, resumably, next to it:
    clip.mp4 -> clip/00000.jpg ...; progress(done, total)) or a frame folder. Raises
    FrameSourceError (a ValueError) or OSError naming the input."""
    path = Path(path)
    if not path.is_dir():
        extract_frames(path, progress)
    project = sequence_project_path(path)
    sequence_project(path, project)
    return project
