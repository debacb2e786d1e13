"""Checks before a command writes a project file: the place is writable, and the file there is
one this command may replace (`segment`, `segment --text` and `track` share them)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def check_output(out: Path) -> str | None:
    """Why no project file can be written at `out` (a folder is there, or its folder does not
    accept a new file), or None; run before any inference. The folder is created if missing.
    Whether a file already at `out` may be replaced is the command's to say (`claim_output`,
    `track_output.TrackParts.start`)."""
    if out.is_dir():
        return f"{out} is a folder; --output must be a project JSON file"
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=".probe")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write {out}: folder {folder} is not writable ({exc.strerror or exc})"
    return None


def claim_output(writer: Any, force: bool) -> str | None:
    """Why `writer`'s project file may not be written, or None. With `force`, one this
    command did not write is replaced (kept as .bak) and earlier parts are forgotten; without,
    only a file this command wrote (and no one edited since) is continued."""
    from annotator.cli.amg_outputs import OutputConflictError

    problem = check_output(writer.out)
    if problem is not None:
        return problem
    if force:
        writer.reset()
        return None
    try:
        writer.check()
    except OutputConflictError as exc:
        return f"{exc}, or pass --force (the old file is kept as .bak)"
    return None
