"""Fixtures of the model tests: a Predictor-API stand-in with controllable delays and failures.

Its masks are a pure function of the prompts (a square around the mean of the points / the box
centre) so a test can tell which prompt set a result came from; ``time.sleep`` releases the GIL
the way torch kernels do, so a blocked UI thread would show up in heartbeat gaps.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from annotator.engine import ImageState


@dataclass
class FakeModel:
    model_type: str = "vit_t"
    prompt_hint: str = "points_and_boxes"
    model_id: str = "fake-v1"


class FakePredictor:
    def __init__(
        self, model: FakeModel | None = None, encode_delay: float = 0.0, decode_delay: float = 0.0
    ) -> None:
        """Predictor(model) like the engine's, so the worker can build a background twin."""
        self.model = model or FakeModel()
        self.device = torch.device("cpu")
        self.encode_delay = encode_delay
        self.decode_delay = decode_delay
        self.encoded: list[tuple[int, ...]] = []  # shapes of images encoded, in order
        self.decoded: list[dict] = []  # prompts of every predict() call, in order
        self.fail_next_decode: BaseException | None = None
        self.fail_next_encode: BaseException | None = None
        self.thread_ids: set[int] = set()
        self.encode_started = threading.Event()
        self.niceness: list[int] = []  # OS priority of the encoding thread, per encode
        self.reset_image()

    def reset_image(self) -> None:
        self.features: torch.Tensor | None = None
        self.original_size: tuple[int, int] | None = None
        self.input_size: tuple[int, int] | None = None
        self.is_image_set = False

    def set_image(self, image: np.ndarray) -> None:
        self.thread_ids.add(threading.get_ident())
        if self.fail_next_encode is not None:
            exc, self.fail_next_encode = self.fail_next_encode, None
            raise exc
        if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) image, got shape {np.shape(image)}")
        self.encode_started.set()
        self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        time.sleep(self.encode_delay)
        self.encoded.append(image.shape)
        mean = torch.as_tensor(image.reshape(-1, 3).mean(0), dtype=torch.float32)
        self.features = mean.reshape(1, 3, 1, 1).expand(1, 3, 8, 8).contiguous()
        self.original_size = (image.shape[0], image.shape[1])
        self.input_size = self.original_size
        self.is_image_set = True

    def get_image_state(self) -> ImageState:
        assert self.features is not None
        return ImageState(self.features, self.original_size, self.input_size, self.model.model_id)

    def set_image_state(self, state: ImageState) -> None:
        if state.model_id != self.model.model_id:  # as the engine's Predictor refuses it
            raise ValueError(f"state of {state.model_id!r} on {self.model.model_id!r}")
        self.features = torch.as_tensor(state.features)
        self.original_size = tuple(state.original_size)
        self.input_size = tuple(state.input_size)
        self.is_image_set = True

    def predict(
        self,
        point_coords=None,
        point_labels=None,
        box=None,
        mask_input=None,
        multimask_output=True,
        return_logits=False,
    ):
        self.thread_ids.add(threading.get_ident())
        if not self.is_image_set:
            raise RuntimeError("predict() before set_image()")
        self.decoded.append(
            {"points": point_coords, "labels": point_labels, "box": box, "mask_input": mask_input}
        )
        if self.fail_next_decode is not None:
            exc, self.fail_next_decode = self.fail_next_decode, None
            raise exc
        time.sleep(self.decode_delay)
        h, w = self.original_size
        centres = []
        if point_coords is not None:
            centres.append(np.asarray(point_coords, np.float32).mean(0))
        if box is not None:
            b = np.asarray(box, np.float32)
            centres.append((b[:2] + b[2:]) / 2)
        cx, cy = np.mean(centres, axis=0) if centres else (w / 2, h / 2)
        c = 3 if multimask_output else 1
        masks = np.zeros((c, h, w), bool)
        for i in range(c):
            r = 2 + 3 * i
            masks[i, max(0, int(cy) - r) : int(cy) + r, max(0, int(cx) - r) : int(cx) + r] = True
        scores = np.linspace(0.9, 0.7, c).astype(np.float32)
        low_res = np.full((c, 256, 256), float(len(self.decoded)), np.float32)
        return masks, scores, low_res


def fake_image(h: int = 48, w: int = 64, value: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB with a gradient, different for every ``value``."""
    ramp = np.arange(h * w, dtype=np.uint32).reshape(h, w) + value * 7919
    return np.stack([ramp % 251, ramp % 241, (ramp + value) % 239], axis=-1).astype(np.uint8)


class Heartbeat:
    """Measures the longest gap between UI-thread timer ticks: a blocked UI thread shows up."""

    def __init__(self, interval_ms: int = 5) -> None:
        from PySide6.QtCore import QTimer

        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.max_gap = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1

    def __enter__(self) -> Heartbeat:
        self._last = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()
        self._tick()


# -- fixtures: the model tests get their fakes here, never by importing another test module ---
@pytest.fixture
def fake_predictor() -> type[FakePredictor]:
    """The FakePredictor class: ``fake_predictor(encode_delay=0.3)``."""
    return FakePredictor


@pytest.fixture(name="fake_model")
def fake_model_fixture() -> type[FakeModel]:
    """The FakeModel class (model_type, prompt_hint, model_id of a fake predictor)."""
    return FakeModel


@pytest.fixture(name="fake_image")
def fake_image_fixture():
    """``fake_image(h=48, w=64, value=0)`` -> (H, W, 3) uint8 RGB, different per value."""
    return fake_image


@pytest.fixture
def heartbeat() -> type[Heartbeat]:
    """The Heartbeat class: ``with heartbeat() as hb: ...; hb.max_gap`` (seconds)."""
    return Heartbeat
