"""A fake predictor whose masks are scripted per call, for the session and NoC tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest


class ScriptedPredictor:
    """``predict`` answers call i with ``script(i, call)``: an (H, W) bool mask, or a list of
    three (C=3, for multimask calls) with ``scores``. Every call's prompts are recorded."""

    def __init__(self, script: Callable[[int, dict[str, Any]], Any], scores=None) -> None:
        self.script = script
        self.scores = scores
        self.calls: list[dict[str, Any]] = []

    def predict(
        self, point_coords=None, point_labels=None, box=None, mask_input=None, multimask_output=True
    ):
        call = {
            "points": None if point_coords is None else np.asarray(point_coords).tolist(),
            "labels": None if point_labels is None else np.asarray(point_labels).tolist(),
            "box": None if box is None else np.asarray(box).tolist(),
            "mask_input": mask_input,
            "multimask": multimask_output,
        }
        i = len(self.calls)
        self.calls.append(call)
        answer = self.script(i, call)
        masks = np.stack(answer) if isinstance(answer, list) else np.asarray(answer)[None]
        n = masks.shape[0]
        if multimask_output and n == 1:
            masks = np.concatenate([masks, np.zeros_like(masks), np.zeros_like(masks)])
            n = 3
        scores = np.asarray(self.scores if self.scores is not None else [0.9, 0.1, 0.05][:n])
        low_res = np.stack([np.full((256, 256), 10.0 * i + c, np.float32) for c in range(n)])
        return masks.astype(bool), scores.astype(np.float32), low_res


@pytest.fixture
def scripted():
    return ScriptedPredictor
