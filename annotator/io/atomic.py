"""Crash-safe file writes: a reader (or the next run after a kill) sees the old file or the new one.

The data goes to a temp file in the target's directory (same filesystem, so the final rename is
atomic), is flushed and fsynced, renamed over the target with os.replace, and the directory is
fsynced so the rename itself survives a power cut. Temp files are named
``.<name>.<pid>-<random>.tmp``; one whose writing process is gone is stale and is removed by the
next write to the same target.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
# Without a portable "is this pid alive" probe (Windows), only temps this old count as stale.
STALE_TEMP_AGE_S = 3600.0
_WRITE_LOCK = threading.RLock()  # one write at a time in this process: temps never race


def backup_path(path: str | os.PathLike[str]) -> Path:
    """Where the previous version of `path` is kept: ``<name>.bak`` next to it."""
    path = Path(path)
    return path.with_name(path.name + ".bak")


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True
    return True


def _is_stale(temp: Path, pid: int) -> bool:
    if sys.platform != "win32":
        return not _pid_alive(pid)
    try:
        return time.time() - temp.stat().st_mtime > STALE_TEMP_AGE_S
    except OSError:
        return False


def clean_stale_temps(path: str | os.PathLike[str]) -> list[Path]:
    """Remove temp files left by killed writers of `path` (and of its backup); returns them.

    Temps of live processes (a concurrent writer mid-save) are left alone.
    """
    path = Path(path)
    names = {path.name, backup_path(path).name}
    removed = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if not match or match["name"] not in names:
            continue
        temp = Path(entry.path)
        if _is_stale(temp, int(match["pid"])):
            try:
                temp.unlink()
                removed.append(temp)
            except OSError:
                pass  # another cleaner got it first, or no permission: harmless
    return removed


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync on Windows; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _keep_backup(path: Path) -> None:
    """Make ``<name>.bak`` hold the current content of `path`, atomically."""
    bak = backup_path(path)
    staging = _temp_name(bak)
    try:
        try:
            os.link(path, staging)  # no copy: the old inode lives on as the backup
        except OSError:
            shutil.copy2(path, staging)  # filesystems without hard links
        os.replace(staging, bak)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, backup: bool = False) -> None:
    """Replace `path` with `data` so that no reader ever sees a partial file.

    backup=True first keeps the current file (if any) as ``<name>.bak``. A new file gets the
    default permissions (0o666 minus umask); an existing file keeps its permission bits.
    Stale temps of earlier killed writers are cleaned up. Raises OSError if the write fails;
    the target is then untouched.
    """
    path = Path(path)
    with _WRITE_LOCK:
        clean_stale_temps(path)
        temp = _temp_name(path)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.chmod(temp, os.stat(path).st_mode & 0o7777)
            except FileNotFoundError:
                pass
            if backup and path.exists():
                _keep_backup(path)
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", backup: bool = False
) -> None:
    """`atomic_write_bytes` of `text` encoded with `encoding` (UTF-8 by default, no BOM)."""
    atomic_write_bytes(path, text.encode(encoding), backup=backup)
