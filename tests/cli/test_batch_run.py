"""The shared driver loop: a Ctrl+C that a library swallows (as Ray's row iterator once did in
CI, running on to the end and exiting 0) still ends the run as interrupted."""

from __future__ import annotations

import signal

import pytest

from annotator.cli.batch_run import run_items
from annotator.distributed.jobs import ItemOutcome


class SwallowingJob:
    """Five items; while processing item 1 the user presses Ctrl+C and the code running the item
    catches the KeyboardInterrupt (a library's blanket except)."""

    model, warning = "test", None

    def __init__(self) -> None:
        self.processed: list[int] = []

    def setup(self) -> None: ...

    def label(self, index: int) -> str:
        return f"item {index}"

    def read(self, index: int) -> int:
        return index

    def process(self, index: int, image: int) -> ItemOutcome:
        if index == 1:
            try:  # the SIGINT handler as Python runs it for a press (a real os.kill is
                # delivered at the interpreter's next check, maybe after this except)
                signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
            except KeyboardInterrupt:
                pass  # swallowed
        self.processed.append(index)
        return ItemOutcome(index, count=1)


def test_a_swallowed_ctrl_c_still_interrupts_the_run_after_the_item_in_hand():
    job = SwallowingJob()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN in a background job, else Python's
    seen: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        for outcome in run_items(job, range(5), None, "test"):
            seen.append(outcome.index)
    assert seen == [0, 1]  # the item that was in hand is reported, nothing after it
    assert job.processed[-1] <= 2  # the reader may be one ahead; the model stops
    assert signal.getsignal(signal.SIGINT) == before  # the caller's handler is back
