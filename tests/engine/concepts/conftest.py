from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.engine.concepts.sam3_tiny import save_tiny_checkpoint, tiny_model_and_processor

SAMPLES = __import__("pathlib").Path(__file__).resolve().parents[3] / "sample_data"


@pytest.fixture(scope="session")
def tiny_sam3():
    """(Sam3Model, Sam3Processor) at toy size with random weights, shared by the session."""
    pytest.importorskip("transformers")
    return tiny_model_and_processor(seed=0)


@pytest.fixture(scope="session")
def tiny_sam3_folder(tmp_path_factory):
    """The tiny model saved as a transformers checkpoint folder."""
    pytest.importorskip("transformers")
    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam3-tiny"))


def photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB of one of the project's sample photos."""
    return np.array(Image.open(SAMPLES / name).convert("RGB"))
