"""How the model thread shares the CPU and the GIL with the UI thread while it propagates.

A propagation is a long run of forward passes in the model thread, one unit per queued pump.
Two things kept the UI thread waiting meanwhile (benchmarks/stall_sampler.py found it idle in
its event loop during the long stalls, the model thread in torch):
- cores: with torch's default of one intra-op thread a core, every OpenMP region of a pass
  spans all the cores, so the UI thread's next event waits for a core; on a machine with other
  work each region also waits for its slowest worker, descheduled by that work;
- the GIL: the model thread runs Python between torch ops, and a thread wanting the GIL waits
  up to the switch interval (5 ms) before it may force a switch, once for every acquisition;
  one UI event (a timer, a frame to show) acquires it several times.
`ui_first` runs a unit with one intra-op thread fewer than the cores and a 1 ms switch
interval, and puts both back after it. Measured: see the comment in `ui_first`.

``torch.set_num_threads`` sets the calling thread's OpenMP thread count, and the count that a
thread adopts at its first parallel op; a thread that has already run one (the UI thread, the
background prefetcher) keeps its own (tests/gui/test_propagation_threads.py checks it). So
the ModelWorker's own work between units (a click's decode, an image switch) runs as before,
and a thread that happens to make its first parallel op inside a unit gets cores - 1 threads,
which costs it little. The switch interval is the process's: for one unit, every thread's.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

SWITCH_INTERVAL_S = 0.001


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def propagation_threads(current: int, cores: int) -> int:
    """Intra-op threads for a propagation unit: all the cores but one (left to the UI thread),
    at least one, and never more than the ``current`` count (a user's OMP_NUM_THREADS stays)."""
    return max(1, min(current, cores - 1))


@contextlib.contextmanager
def ui_first(cores: int | None = None) -> Iterator[int]:
    """Run the block in this thread with `propagation_threads` torch intra-op threads and a
    `SWITCH_INTERVAL_S` GIL switch interval; yields the thread count used. The thread's count
    and the interval before are back afterwards, also after an exception."""
    import torch

    # benchmarks/gui_propagation.py, 8 frames of 1280x720, 128 px model input, this 2-core
    # machine, 3 runs each interleaved with the code before (median, worst):
    # - at load ~5 (other sessions' tests): longest UI stall 52, 64 -> 33, 34 ms; 0.37 -> 2.9
    #   frames/s (at every region's end each OpenMP thread waited for the other, descheduled);
    # - beside a busy-loop process, load 6-10: 75, 116 -> 55, 111 ms (idle baselines alone
    #   46-194 ms); 0.18 -> 1.46 frames/s.
    # Exploring (1-2 runs, load 5-7): one thread alone 39-82 ms, 1.0-3.1 frames/s; with the 1 ms
    # interval too 34-66 ms, 2.3-3.5 frames/s (beside the busy loop 2.3 against 1.1: the UI
    # thread's painting holds the GIL in shorter turns too); nicing the model thread by 10 was
    # worse (56-76 ms, half the frames/s).
    before = torch.get_num_threads()
    n = propagation_threads(before, usable_cores() if cores is None else cores)
    interval = sys.getswitchinterval()
    if n != before:
        torch.set_num_threads(n)
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
    try:
        yield n
    finally:
        sys.setswitchinterval(interval)
        if n != before:
            torch.set_num_threads(before)
