"""The session's observer: typed handlers, bursts delivered once, then one flush."""

from dataclasses import dataclass

import numpy as np

from annotator.gui.session.events import Events


@dataclass(frozen=True)
class Ping:
    n: int = 0


@dataclass(frozen=True)
class Pong:
    data: np.ndarray


def test_handlers_by_type_bursts_dedupe_and_flush_once():
    ev, got, flushes = Events(), [], []
    ev.connect(Ping, got.append)
    ev.connect(Pong, got.append)
    ev.on_flush(lambda: flushes.append(len(got)))
    ev.emit(Ping(1))
    assert got == [Ping(1)] and flushes == [1]
    a, b = Pong(np.zeros(2)), Pong(np.zeros(2))
    with ev.burst():
        ev.emit(Ping(2))
        ev.emit(Ping(2))  # the same change twice: delivered once
        ev.emit(a)
        ev.emit(b)  # events holding arrays are distinct
        with ev.burst():
            ev.emit(Ping(3))
        assert len(got) == 1  # nothing delivered before the command is done
    assert got[1:] == [Ping(2), a, b, Ping(3)] and flushes == [1, 5]


def test_events_emitted_by_a_handler_come_after_the_current_ones():
    ev, got = Events(), []
    ev.connect(Ping, lambda e: (got.append(e.n), e.n == 1 and ev.emit(Ping(9))))
    flushes = []
    ev.on_flush(lambda: flushes.append(list(got)))
    with ev.burst():
        ev.emit(Ping(1))
        ev.emit(Ping(2))
    assert got == [1, 2, 9] and flushes == [[1, 2, 9]]
