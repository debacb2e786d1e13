"""The model download's worker object, run in a QThread by the Model menu, and the rule that a
download thread is never destroyed while it runs."""

from __future__ import annotations

import atexit
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

from annotator.engine.weights.download import DownloadCancelledError, DownloadError, download_model
from annotator.engine.weights.registry import ModelInfo
from annotator.engine.weights.store import ModelStoreError


class DownloadWorker(QObject):
    """Runs ``download_model`` in its own thread; every outcome arrives as a signal."""

    progressed = Signal(object, object)  # bytes done, total (Python ints: files pass 2 GiB)
    warned = Signal(str)
    succeeded = Signal(str)  # installed path
    failed = Signal(str)  # message for the user
    cancelled = Signal(str)
    done = Signal()

    def __init__(
        self, info: ModelInfo, directory: Path | None, url_base: str | None, timeout: float
    ) -> None:
        super().__init__()
        self.info, self.directory, self.url_base, self.timeout = info, directory, url_base, timeout
        self._stop = threading.Event()
        self._last_emit = 0.0

    def _progress(self, done: int, total: int | None) -> None:
        # At most ~10 updates a second: a fast link would otherwise flood the UI thread.
        now = time.monotonic()
        if done == total or now - self._last_emit >= 0.1:
            self._last_emit = now
            self.progressed.emit(done, total)

    def cancel(self) -> None:
        """Thread-safe; the download stops at its next chunk and keeps the partial file."""
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            path = download_model(
                self.info,
                directory=self.directory,
                url_base=self.url_base,
                progress=self._progress,
                cancel=self._stop.is_set,
                timeout=self.timeout,
                warn=self.warned.emit,
            )
        except DownloadCancelledError as exc:
            self.cancelled.emit(str(exc))
        except (DownloadError, ModelStoreError, OSError) as exc:
            self.failed.emit(str(exc))
        else:
            self.succeeded.emit(str(path))
        finally:
            self.done.emit()


# A download blocked in a socket read sees its cancel flag only when the read returns (at most
# the download timeout). If shutdown() gives up waiting, the thread is kept here, parentless,
# until it finishes: Qt aborts the process when a running QThread is destroyed.
_ORPHANS: dict[QThread, tuple[DownloadWorker, float]] = {}


@atexit.register
def _wait_for_orphans() -> None:
    for thread, (_worker, timeout) in list(_ORPHANS.items()):
        thread.wait(int((timeout + 1.0) * 1000))


def keep_until_finished(thread: QThread, worker: DownloadWorker, timeout: float) -> None:
    """Detach a cancelled download thread that is still running (its owner is going away) and
    keep it referenced until it has finished, so neither Qt nor Python destroys it running."""
    for done in [t for t in _ORPHANS if t.isFinished()]:
        del _ORPHANS[done]
    thread.setParent(None)
    _ORPHANS[thread] = (worker, timeout)
