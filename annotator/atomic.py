"""Crash-safe file writes: a reader (or the next run after a kill) sees the old file or the new one.

The data goes to a temp file in the target's directory (same filesystem, so the final rename is
atomic), is flushed and fsynced, renamed over the target with os.replace, and the directory is
fsynced so the rename itself survives a power cut. Temp files are named
``.<name>.<pid>-<random>.tmp``. The next write to the same target removes stale ones: those whose
writing process is gone, and (since pids get reused on a busy machine) those older than
LOCKED_TEMP_GRACE_S that no writer holds an flock on — a live writer locks its temp until the
rename.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import sys
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

_TEMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")
# Without a portable "is this pid alive" probe (Windows), only temps this old count as stale.
STALE_TEMP_AGE_S = 3600.0
# A temp this old that no writer has locked is stale even if its pid now names another process.
LOCKED_TEMP_GRACE_S = 2.0
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


def _age_s(temp: Path) -> float:
    stat = temp.stat()
    if sys.platform == "win32":  # st_ctime is the creation time there
        return time.time() - stat.st_mtime
    # POSIX ctime too: a hard link made a moment ago carries its target's old mtime
    return time.time() - max(stat.st_mtime, stat.st_ctime)


def _unlocked(temp: Path) -> bool:
    """True if no process holds an flock on `temp` (writers lock theirs until the rename)."""
    try:
        fd = os.open(temp, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # also releases our probe lock
    return True


def _is_stale(temp: Path, pid: int) -> bool:
    try:
        if sys.platform == "win32" or fcntl is None:
            return _age_s(temp) > STALE_TEMP_AGE_S
        if not _pid_alive(pid):
            return True
        return _age_s(temp) > LOCKED_TEMP_GRACE_S and _unlocked(temp)
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


def fsync_dir(directory: Path) -> None:
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
    try:
        if os.path.samefile(path, bak):
            return  # a save killed after its backup step left them linked: already backed up
    except OSError:
        pass  # no backup yet
    staging = _temp_name(bak)
    try:
        try:
            os.link(path, staging)  # no copy: the old inode lives on as the backup
        except OSError:
            shutil.copy2(path, staging)  # filesystems without hard links
        os.replace(staging, bak)
    finally:
        # Normally already renamed away; but rename() between two links of one inode is a no-op
        # that leaves the source, and on errors the staging link must not linger either.
        staging.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, backup: bool = False) -> None:
    """Replace `path` with `data` so that no reader ever sees a partial file.

    backup=True first keeps the current file (if any) as ``<name>.bak``. A new file gets the
    default permissions (0o666 minus umask); an existing file keeps its permission bits.
    Stale temps of earlier killed writers are cleaned up. A symlinked target is written through
    (the link stays a link). Raises OSError if the write fails; the target is then untouched.
    The error names `path` (filename and message), never the temp file: a read-only folder
    gives PermissionError, a full disk OSError(ENOSPC), each with a hint.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    try:
        with _WRITE_LOCK:
            _write_via_temp(path, data, backup)
    except OSError as exc:
        raise _about_target(exc, path) from exc


_READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def _about_target(exc: OSError, path: Path) -> OSError:
    """The error as the user should read it: about their file, never the hidden temp file.

    Same errno (so the same OSError subclass: PermissionError...), filename = `path`.
    """
    reason = exc.strerror or str(exc)
    if exc.errno in _READ_ONLY_ERRNOS:
        reason += f" (saving creates a temporary file in {path.parent}: is the folder read-only?)"
    elif exc.errno == errno.ENOSPC:
        reason += f" (nothing was changed; free some space on the disk holding {path.parent})"
    if exc.errno is None:
        return OSError(f"cannot write {path}: {reason}")
    return OSError(exc.errno, reason, str(path))


def _write_via_temp(path: Path, data: bytes, backup: bool) -> None:
    clean_stale_temps(path)
    temp = _temp_name(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # "in use" for other processes' cleaners
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        try:
            os.chmod(temp, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        if backup and path.exists():
            _keep_backup(path)
        if fcntl is None:  # Windows cannot rename an open file
            os.close(fd)
            fd = -1
        os.replace(temp, path)  # POSIX: still open and locked, which is fine for a rename
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        if fd >= 0:
            os.close(fd)
    fsync_dir(path.parent)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8", backup: bool = False
) -> None:
    """`atomic_write_bytes` of `text` encoded with `encoding` (UTF-8 by default, no BOM)."""
    atomic_write_bytes(path, text.encode(encoding), backup=backup)
