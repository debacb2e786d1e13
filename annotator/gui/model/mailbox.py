"""The Mailbox: what the client *wants* (latest prompt set, current image, pending checkpoint
load, prefetch list), written by the UI thread and read afresh by the worker before every unit
of work, and by the background prefetcher for its queue. One lock guards it; ``cond`` (on that
lock) wakes the prefetcher. The worker and the prefetcher both import this module, never each
other's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from annotator.gui.model.requests import PromptSet

# () -> Predictor-like: set_image, predict, get_image_state, set_image_state, device, model
PredictorLoader = Callable[[], Any]


class Background(Protocol):
    """What the mailbox needs of the background prefetcher (see prefetcher.py)."""

    def stop(self, timeout_s: float = 30.0) -> bool: ...


@dataclass
class LoadJob:
    name: str  # for messages: checkpoint file name or "LiteMedSAM (bundled)"
    load: PredictorLoader


@dataclass
class OpenImage:
    key: str
    image: np.ndarray  # (H, W, 3) uint8 RGB; never modified after open_image
    generation: int


@dataclass
class DecodeJob:
    request_id: int
    generation: int
    prompts: PromptSet


@dataclass
class EverythingJob:
    """Segment everything on the image of ``generation``; ``cancel`` stops it between batches."""

    request_id: int
    generation: int
    points_per_side: int = 32
    cancel: threading.Event = field(default_factory=threading.Event)


@dataclass
class Mailbox:
    """State shared by the client (writer), the worker and the prefetcher, guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    cond: threading.Condition = field(init=False)  # on ``lock``; wakes the background prefetcher
    load: LoadJob | None = None
    current: OpenImage | None = None
    pending: DecodeJob | None = None
    everything: EverythingJob | None = None  # after the pending decode; one at a time
    prefetch: list[tuple[str, str]] = field(default_factory=list)  # (image_key, path)
    ready_generation: int = -1  # generation whose imageReady has been emitted
    failed_generation: int = -1  # generation whose encode failed (reported; not retried)
    working: bool = False  # worker is inside a foreground unit (load / encode / decode)
    stopping: bool = False
    background: Background | None = None  # set by the worker while a prefetcher runs beside

    def __post_init__(self) -> None:
        self.cond = threading.Condition(self.lock)
