"""The worker with the real bundled model (LiteMedSAM, 256 px): same masks as a direct
Predictor, and an embedding restored from the disk cache in a new session decodes identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from annotator.engine import Predictor, load_model
from annotator.engine.embedding_cache import EmbeddingCache
from annotator.gui.model.client import ModelClient
from annotator.gui.model.requests import MaskResult, PromptSet
from annotator.io.images import read_image

SAMPLE = Path(__file__).resolve().parents[3] / "sample_data" / "chelsea.jpg"


@pytest.fixture(scope="module")
def model():
    return load_model()  # bundled LiteMedSAM on the CPU


def run_session(qtbot, model, cache_dir: Path, prompts: PromptSet) -> tuple[float, MaskResult]:
    client = ModelClient(lambda: Predictor(model), cache=EmbeddingCache(disk_dir=cache_dir))
    try:
        with qtbot.waitSignal(client.modelLoaded, timeout=60_000) as loaded:
            client.start()
        assert loaded.args[0].model_type == "lite_medsam"
        with qtbot.waitSignal(client.imageReady, timeout=120_000) as ready:
            client.open_image(str(SAMPLE), read_image(SAMPLE))
        with qtbot.waitSignal(client.maskReady, timeout=60_000) as got:
            client.request_mask(prompts)
        return ready.args[1], got.args[0]
    finally:
        assert client.shutdown(60)


def test_bundled_model_masks_match_the_predictor_and_survive_the_disk_cache(qtbot, model, tmp_path):
    image = read_image(SAMPLE)
    prompts = PromptSet(
        np.array([[220, 150]], np.float32),
        np.array([1], np.int32),
        box=np.array([120, 40, 330, 290], np.float32),
    )
    seconds, first = run_session(qtbot, model, tmp_path, prompts)
    assert seconds > 0  # encoded
    reference = Predictor(model)
    reference.set_image(image)
    masks, scores, low_res = reference.predict(
        point_coords=prompts.points,
        point_labels=prompts.labels,
        box=prompts.box,
        multimask_output=False,
    )
    assert first.masks.shape == (1, 300, 451) and first.masks.sum() > 1000
    np.testing.assert_array_equal(first.masks, masks)
    np.testing.assert_allclose(first.scores, scores, rtol=1e-5)

    seconds, again = run_session(qtbot, model, tmp_path, prompts)  # a new session, same disk
    assert seconds == 0.0
    np.testing.assert_array_equal(again.masks, masks)
    np.testing.assert_allclose(again.low_res_logits, low_res, atol=1e-4)
