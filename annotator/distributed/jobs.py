"""The per-item job the batch commands hand to a runner, and the local (in-process) runner.

A job is picklable before `setup`, so the Ray runner can ship it to its actors; each actor
(or the local run, once) calls `setup` to load the model, then `read` and `process` per item.
Both runners yield the same `ItemOutcome`s, so the command's own loop (progress bar, failure
report, assembling a COCO project) is one piece of code for both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

K = TypeVar("K")


@dataclass(frozen=True)
class ItemOutcome:
    """What one item's processing reports back to the driver (small: the output is on disk).

    index: the item's position in the job; error: why it failed, or None; count: masks
    written; payload: JSON-able data the driver assembles (``segment``: the RLEs), or None;
    model: the model's provenance name; warning: a note from loading the model, or None.
    """

    index: int
    error: str | None = None
    count: int = 0
    payload: Any = None
    model: str = ""
    warning: str | None = None


class ItemJob(Protocol):
    """A batch command's work on a list of items (images, or images with their boxes).

    After `setup`: ``model`` is the model's provenance name (``vit_b:sam.pth``) and
    ``warning`` a note about the model for the user, or None.
    """

    model: str
    warning: str | None

    def setup(self) -> None:
        """Load the model (once per process); raises the engine's errors for a bad checkpoint."""

    def label(self, index: int) -> str:
        """The item as the failure report names it, e.g. ``sub/cat.jpg``."""

    def read(self, index: int) -> Any:
        """Decode the item's image; raises ValueError or OSError for a corrupt or missing file."""

    def process(self, index: int, image: Any) -> ItemOutcome:
        """Run the model on the decoded item and write its output atomically."""


def read_ahead(
    keys: Sequence[K], read: Callable[[K], Any]
) -> Iterator[tuple[K, Any, BaseException | None]]:
    """Yield (key, read(key) or None, error) while the next key is read in a background thread,
    so decoding overlaps the model. ValueError and OSError are returned, not raised."""

    def attempt(key: K) -> tuple[Any, BaseException | None]:
        try:
            return read(key), None
        except (ValueError, OSError) as exc:
            return None, exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as pool:
        pending: Future | None = pool.submit(attempt, keys[0]) if keys else None
        for i, key in enumerate(keys):
            assert pending is not None
            value, error = pending.result()
            pending = pool.submit(attempt, keys[i + 1]) if i + 1 < len(keys) else None
            yield key, value, error


def run_one(job: ItemJob, index: int, image: Any, read_error: BaseException | None) -> ItemOutcome:
    """The outcome of one item whose read gave `image` or `read_error` (local and Ray alike)."""
    if read_error is not None:
        return ItemOutcome(index, error=str(read_error))
    return job.process(index, image)


def run_local(job: ItemJob, indices: Sequence[int]) -> Iterator[ItemOutcome]:
    """Process `indices` of an already set-up `job` in this process, in order."""
    for index, image, read_error in read_ahead(indices, job.read):
        yield run_one(job, index, image, read_error)
