"""Embedding cache: byte-bounded LRU, pinning, disk round trip and keys."""

from __future__ import annotations

import numpy as np
import torch

from annotator.gui.embedding_cache import (
    EmbeddingCache,
    image_content_hash,
    model_fingerprint,
    state_nbytes,
)
from tests.gui.fake_predictor import fake_image


def state(value: float, kib: int = 4) -> dict:
    """A SamPredictor-like state holding ``kib`` KiB of float32 features."""
    return {
        "features": torch.full((1, kib * 256), float(value), dtype=torch.float32),
        "original_size": (48, 64),
        "input_size": (768, 1024),
    }


def test_memory_lru_is_bounded_by_bytes_and_refreshed_by_get():
    cache = EmbeddingCache(memory_budget=3 * 4096, disk_dir=None)
    assert state_nbytes(state(0)) == 4096
    for i in range(3):
        cache.put("m", f"h{i}", state(i))
    assert cache.get("m", "h0") is not None  # h0 becomes most recent; h1 is now the oldest
    cache.put("m", "h3", state(3))
    assert cache.memory_bytes == 3 * 4096
    assert [cache.in_memory("m", f"h{i}") for i in range(4)] == [True, False, True, True]
    assert cache.get("m", "h1") is None


def test_pinned_entry_survives_and_oversized_entries_are_not_kept():
    cache = EmbeddingCache(memory_budget=2 * 4096, disk_dir=None)
    cache.pin("m", "open")
    cache.put("m", "open", state(1))
    for i in range(4):
        cache.put("m", f"other{i}", state(i))
    assert cache.in_memory("m", "open")
    cache.put("m", "big", state(9, kib=64))  # larger than the whole budget, not pinned
    assert not cache.in_memory("m", "big") and cache.memory_bytes <= 2 * 4096


def test_disk_cache_round_trip_is_keyed_by_model(tmp_path):
    writer = EmbeddingCache(disk_dir=tmp_path)
    writer.put("model-a", "h", state(2.5))
    reader = EmbeddingCache(disk_dir=tmp_path)  # a new session
    got = reader.get("model-a", "h")
    assert got["original_size"] == (48, 64)
    assert torch.equal(got["features"], state(2.5)["features"])
    assert reader.get("model-b", "h") is None
    assert reader.contains("model-a", "h") and not reader.contains("model-b", "h")


def test_torn_disk_file_is_a_miss_and_removed(tmp_path):
    cache = EmbeddingCache(disk_dir=tmp_path)
    cache.put("m", "h", state(1))
    path = tmp_path / "m" / "h.npz"
    path.write_bytes(path.read_bytes()[:50])
    fresh = EmbeddingCache(disk_dir=tmp_path)
    assert fresh.get("m", "h") is None and not path.exists()


def test_disk_budget_evicts_least_recently_used_files(tmp_path):
    cache = EmbeddingCache(disk_dir=tmp_path, disk_budget=3 * 6000)
    for i in range(5):
        cache.put("m", f"h{i}", state(i))
    files = sorted(p.stem for p in tmp_path.glob("m/*.npz"))
    assert 1 <= len(files) <= 3 and "h4" in files and "h0" not in files
    assert sum(p.stat().st_size for p in tmp_path.glob("m/*.npz")) <= 3 * 6000


def test_content_hash_follows_pixels_not_names():
    a = fake_image(value=1)
    assert image_content_hash(a) == image_content_hash(a.copy())
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert image_content_hash(a) != image_content_hash(b)
    assert image_content_hash(a) != image_content_hash(a.reshape(64, 48, 3))


def test_model_fingerprint_changes_with_weights_even_under_one_model_id():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 2))
    net.model_id = "lite_medsam"  # what the engine gives every network built without a file
    before = model_fingerprint(net)
    assert model_fingerprint(net) == before
    with torch.no_grad():
        net[1].bias += 1
    after = model_fingerprint(net)
    assert after != before
    net.model_id = "lite_medsam:other.pth:123:456"  # same weights, another checkpoint file
    assert model_fingerprint(net) not in (before, after)


def test_states_with_numpy_leaves_are_sized():
    assert state_nbytes({"a": np.zeros((10, 10), np.float32), "b": [torch.zeros(5)]}) == 420


def test_disk_format_keeps_dtypes_and_containers_without_pickle(tmp_path):
    value = {
        "half": torch.arange(6, dtype=torch.bfloat16).reshape(2, 3),
        "np": np.arange(4, dtype=np.uint16),
        "nest": [1, 2.5, "x", None, (3, 4)],
    }
    EmbeddingCache(disk_dir=tmp_path).put("m", "h", value)
    got = EmbeddingCache(disk_dir=tmp_path).get("m", "h")
    assert got["half"].dtype == torch.bfloat16 and torch.equal(got["half"], value["half"])
    assert got["np"].dtype == np.uint16 and np.array_equal(got["np"], value["np"])
    assert got["nest"] == [1, 2.5, "x", None, (3, 4)]


def test_cache_file_naming_a_foreign_class_is_refused(tmp_path):
    import dataclasses

    @dataclasses.dataclass
    class Foreign:
        x: int

    EmbeddingCache(disk_dir=tmp_path).put("m", "h", Foreign(1))
    assert EmbeddingCache(disk_dir=tmp_path).get("m", "h") is None
