"""What the UI thread is doing when it stalls: a watchdog thread that samples its Python stack.

The benchmark's UI heartbeat calls `beat()` on every tick; a daemon thread wakes every
``period_s`` and, while the last beat is older than ``threshold_s`` (a stall in progress),
records the UI thread's stack (and, beside it, the innermost frame of every other thread, e.g.
the model thread holding the GIL). `report()` counts the samples per stack, most frequent
first. Sampling needs the GIL: a sample lands at most one switch interval (5 ms) late.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import traceback


class StallSampler:
    def __init__(self, threshold_s: float = 0.030, period_s: float = 0.004, depth: int = 8):
        self.threshold_s, self.period_s, self.depth = threshold_s, period_s, depth
        self.ui_thread = threading.get_ident()
        self.last = time.perf_counter()
        self.samples: collections.Counter[tuple[str, str]] = collections.Counter()
        self.stalls = 0
        self._in_stall = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> StallSampler:
        self.last = time.perf_counter()
        self._thread.start()
        return self

    def beat(self) -> None:
        """Called from the UI thread on every heartbeat tick."""
        self.last = time.perf_counter()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            if time.perf_counter() - self.last < self.threshold_s:
                self._in_stall = False
                continue
            if not self._in_stall:
                self._in_stall = True
                self.stalls += 1
            frames = sys._current_frames()
            ui = frames.get(self.ui_thread)
            if ui is None:
                continue
            others = [_where(f) for tid, f in frames.items() if tid not in (self.ui_thread, _me())]
            self.samples[(self._stack(ui), " | ".join(others))] += 1

    def _stack(self, frame) -> str:
        entries = traceback.extract_stack(frame)[-self.depth :]
        return " <- ".join(f"{_short(e.filename)}:{e.lineno} {e.name}" for e in reversed(entries))

    def report(self, top: int = 12) -> str:
        total = sum(self.samples.values())
        lines = [f"{self.stalls} stalls > {self.threshold_s * 1000:.0f} ms, {total} samples"]
        for (ui, others), n in self.samples.most_common(top):
            lines.append(f"{n:4d}  UI: {ui}")
            lines.append(f"      others: {others}")
        return "\n".join(lines)


def _me() -> int:
    return threading.get_ident()


def _where(frame) -> str:
    code = frame.f_code
    return f"{_short(code.co_filename)}:{frame.f_lineno} {code.co_name}"


def _short(path: str) -> str:
    for marker in ("/annotator/", "/benchmarks/", "/site-packages/"):
        if marker in path:
            return path[path.index(marker) + 1 :]
    return path.rsplit("/", 1)[-1]
