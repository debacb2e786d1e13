"""Which decoder runs the clicks in ``decoder="auto"``: the faster of torch and ONNX Runtime,
timed on the user's own first clicks.

Once the ONNX Runtime session is ready, clicks alternate between the two paths (each click runs
one of them, so the measurement costs nothing: both give the same masks within the parity
bars); after a warm-up click on each side and ``rounds`` timed clicks each, the lower median
wins for the rest of the model's life. Measured rather than fixed per family because all SAM 1
families share one decoder, and which path wins depends on the CPU, its thread count and its
load: on this 2-core machine torch took 20 ms against ONNX Runtime's 29 ms when quiet, but
1100 ms against 106 ms with two torch threads under a load of 9.
"""

from __future__ import annotations

import logging
import threading

import numpy as np

PATHS = ("torch", "onnx")
_log = logging.getLogger(__name__)


class DecoderRace:
    """Alternating timings of the two decode paths, then the winner.

    ``next()`` says which path the coming click should run; ``record(path, seconds)`` reports
    how long it took. ``winner`` is None while measuring, then "torch" or "onnx".
    """

    def __init__(self, rounds: int = 3, warmup: int = 1) -> None:
        self.rounds = rounds
        self.warmup = warmup
        self.times: dict[str, list[float]] = {p: [] for p in PATHS}
        self._runs = dict.fromkeys(PATHS, 0)
        self.winner: str | None = None
        self._lock = threading.Lock()

    def next(self) -> str:
        """The path the next click runs: the winner once decided, else the one run less."""
        if self.winner is not None:
            return self.winner
        return min(PATHS, key=lambda p: self._runs[p])

    def record(self, path: str, seconds: float) -> None:
        """One click's decode time (prompt encoding + decoder, no postprocessing) on ``path``."""
        with self._lock:
            if self.winner is not None:
                return
            self._runs[path] += 1
            if self._runs[path] > self.warmup:
                self.times[path].append(seconds)
            if all(len(t) >= self.rounds for t in self.times.values()):
                med = self.medians_ms()
                self.winner = min(PATHS, key=lambda p: med[p])
                _log.info(
                    "decoder: %s (median decode torch %.1f ms, ONNX Runtime %.1f ms)",
                    self.winner,
                    med["torch"],
                    med["onnx"],
                )

    def medians_ms(self) -> dict[str, float]:
        """Median timed decode per path, in ms (nan where none is timed yet)."""
        return {p: float(np.median(t)) * 1000 if t else float("nan") for p, t in self.times.items()}
