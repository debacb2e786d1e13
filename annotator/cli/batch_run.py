"""The driver loop `amg`, `segment` and `track` share: run a job's items locally or on Ray, with
one progress bar (items per second, time left) and each failure shown as it happens; and, for
the commands that write one output per image (`run_resumable`), skipping the images already
done and assembling the output at the end, on Ctrl+C and when a Ray run fails."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from annotator.cli._common import error
from annotator.distributed.jobs import ItemJob, ItemOutcome, run_local
from annotator.distributed.ray_runner import RayOptions, RayRunError

if TYPE_CHECKING:
    from annotator.cli.amg_outputs import ImageItem


@contextmanager
def _ctrl_c_remembered() -> Iterator[threading.Event]:
    """Ctrl+C raises KeyboardInterrupt as usual and is also remembered: a KeyboardInterrupt that
    lands inside Ray's row iterator can be lost there (seen in CI: the run went on to its end and
    exited 0), and the remembered press still ends the run as interrupted at the next item."""
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield pressed  # signal handlers belong to the main thread; Ctrl+C is its concern
        return

    def handler(signum: int, frame: Any) -> None:
        pressed.set()
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def run_items(
    job: ItemJob,
    indices: Sequence[int],
    ray: RayOptions | None,
    desc: str,
    unit: str = "img",
    counted: str = "masks",
) -> Iterator[ItemOutcome]:
    """Yield each item's outcome once. Local (`ray` None): `job` must be set up already; on
    Ray each actor sets up its own copy. Raises RayRunError when a Ray run fails. The bar
    counts `unit`s and shows the outcomes' counts summed as `counted`."""
    from tqdm import tqdm

    if ray is None:
        outcomes = run_local(job, indices)
    else:
        from annotator.distributed.ray_runner import run_on_ray

        outcomes = run_on_ray(job, indices, ray)
    bar = tqdm(total=len(indices), unit=unit, desc=desc, file=sys.stderr, dynamic_ncols=True)
    with _ctrl_c_remembered() as pressed:
        yield from _reported(job, outcomes, bar, counted, pressed)


def _reported(
    job: ItemJob, outcomes: Iterator[ItemOutcome], bar: Any, counted: str, pressed: threading.Event
) -> Iterator[ItemOutcome]:
    """`outcomes` shown on `bar` as they come; stops with KeyboardInterrupt once Ctrl+C was
    pressed, and stops the outcomes' cluster work either way."""
    total = failed = 0
    warned: set[str] = set()
    try:
        for outcome in outcomes:
            if outcome.warning and outcome.warning not in warned:  # from a Ray actor's model
                warned.add(outcome.warning)
                bar.write(f"warning: {outcome.warning}", file=sys.stderr)
            if outcome.error is not None:
                failed += 1
                bar.write(f"failed {job.label(outcome.index)}: {outcome.error}", file=sys.stderr)
            total += outcome.count
            yield outcome
            bar.update(1)
            bar.set_postfix({counted: total, "failed": failed})
            if pressed.is_set():  # an outcome that came after Ctrl+C still counts, then stop
                raise KeyboardInterrupt
        if pressed.is_set():
            raise KeyboardInterrupt
    finally:
        bar.close()
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # a Ray run stops its cluster work here (Ctrl+C, or the caller stopped)


@dataclass(kw_only=True)
class ImageItemsJob:
    """What the per-image jobs (`AmgJob`, `SegmentJob`, `TextJob`) share: the command's `args`,
    their ``items`` (`amg_outputs.ImageItem`s) named by their path under the images root and
    read as images, and `load(args)`, which every node calls itself to get its model.
    Picklable until the subclass's `setup` loads the model; `model` names it (for provenance)
    and `warning` is what loading it said, shown once by the driver.

    Keyword-only, so that each job adds its own fields, with or without defaults, in any order.
    """

    args: argparse.Namespace
    items: list[ImageItem]
    load: Callable[[argparse.Namespace], Any]
    model: str = ""
    warning: str | None = None

    def label(self, index: int) -> str:
        return self.items[index].rel

    def read(self, index: int) -> Any:
        """The item's (H, W, 3) uint8 RGB image; ValueError or OSError if it cannot be read."""
        from annotator.io.images import read_image

        return read_image(self.items[index].path)


@dataclass
class BatchSummary:
    """What a run did: images to do, skipped as done, their outcomes and the failures."""

    todo: int
    skipped: int
    outcomes: list[ItemOutcome] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.todo - len(self.failures)

    @property
    def count(self) -> int:
        return sum(o.count for o in self.outcomes)


def run_resumable(
    job: Any, writer: Any, ray: RayOptions | None, desc: str
) -> tuple[int | None, BatchSummary]:
    """Run the images of `job` (its ``items``, `amg_outputs.ImageItem`s) that `writer` (an
    `amg_outputs.Writer`) does not have done yet, then let it assemble the output.

    Returns (exit code, summary): the code is None when the run went through and the output is
    written; 130 after Ctrl+C, 1 when the Ray run failed, 2 when the output was edited by
    someone else meanwhile (each reported on stderr, every finished image kept)."""
    from annotator.cli.amg_outputs import OutputConflictError

    items = job.items
    todo = [i for i, item in enumerate(items) if not writer.done(item)]
    summary = BatchSummary(len(todo), len(items) - len(todo))
    if summary.skipped:
        print(f"{summary.skipped} of {len(items)} images already done, skipping them",
              file=sys.stderr)  # fmt: skip

    def finish() -> int | None:
        try:
            writer.finish()
        except OutputConflictError as exc:
            return error(str(exc))
        return None

    try:
        for outcome in run_items(job, todo, ray, desc):
            summary.outcomes.append(outcome)
            if outcome.error is not None:
                summary.failures.append((job.label(outcome.index), outcome.error))
    except KeyboardInterrupt:
        finish()
        print("interrupted: finished images are saved; run again to continue", file=sys.stderr)
        return 130, summary
    except RayRunError as exc:
        finish()
        return error(f"{exc}; finished images are saved: run again to continue", code=1), summary
    return finish(), summary
