"""Embedding cache: byte-bounded LRU, pinning, disk round trip and keys."""

from __future__ import annotations

import json

import numpy as np
import torch

from annotator.engine import ImageState
from annotator.engine.embedding_cache import EmbeddingCache, image_content_hash, model_dir_name


def state(value: float, kib: int = 4, model_id: str = "m") -> ImageState:
    """A Predictor image state holding ``kib`` KiB of float32 features."""
    features = torch.full((1, kib * 256), float(value), dtype=torch.float32)
    return ImageState(features, (48, 64), (768, 1024), model_id)


def npz_files(root, model_id: str = "m"):
    return sorted((root / model_dir_name(model_id)).glob("*.npz"))


def test_memory_lru_is_bounded_by_bytes_and_refreshed_by_get():
    cache = EmbeddingCache(memory_budget=3 * 4096, disk_dir=None)
    assert state(0).nbytes == 4096
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
    writer.put("model-a", "h", state(2.5, model_id="model-a"))
    reader = EmbeddingCache(disk_dir=tmp_path)  # a new session
    got = reader.get("model-a", "h")
    assert isinstance(got, ImageState) and got.model_id == "model-a"
    assert got.original_size == (48, 64) and got.input_size == (768, 1024)
    assert torch.equal(got.features, state(2.5).features)
    assert reader.get("model-b", "h") is None
    assert reader.contains("model-a", "h") and not reader.contains("model-b", "h")


def test_torn_disk_file_is_a_miss_and_removed(tmp_path):
    cache = EmbeddingCache(disk_dir=tmp_path)
    cache.put("m", "h", state(1))
    [path] = npz_files(tmp_path)
    path.write_bytes(path.read_bytes()[:50])
    fresh = EmbeddingCache(disk_dir=tmp_path)
    assert fresh.get("m", "h") is None and not path.exists()


def test_disk_budget_evicts_least_recently_used_files(tmp_path):
    cache = EmbeddingCache(disk_dir=tmp_path, disk_budget=3 * 6000)
    for i in range(5):
        cache.put("m", f"h{i}", state(i))
    files = [p.stem for p in npz_files(tmp_path)]
    assert 1 <= len(files) <= 3 and "h4" in files and "h0" not in files
    assert sum(p.stat().st_size for p in npz_files(tmp_path)) <= 3 * 6000


def test_content_hash_follows_pixels_not_names():
    a = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    assert image_content_hash(a) == image_content_hash(a.copy())
    b = a.copy()
    b[0, 0, 0] ^= 1
    assert image_content_hash(a) != image_content_hash(b)
    assert image_content_hash(a) != image_content_hash(a.reshape(64, 48, 3))


def test_the_model_id_keys_the_cache_and_names_a_safe_folder(tmp_path):
    """One identity, the engine's ``model.model_id`` (type:file:size:mtime from load_model):
    another checkpoint file or the same file rewritten is another model."""
    ids = ["vit_b:sam.pth:375042383:1", "vit_b:sam.pth:375042383:2", "vit_b:../../up.pth:1:1"]
    cache = EmbeddingCache(disk_dir=tmp_path / "cache")
    for model_id in ids:
        cache.put(model_id, "h", state(1, model_id=model_id))
    folders = {p.parent for p in (tmp_path / "cache").glob("*/*.npz")}
    assert len(folders) == 3 and all(f.parent == tmp_path / "cache" for f in folders)
    assert all(len(f.name) == 24 and f.name.isalnum() for f in folders)
    fresh = EmbeddingCache(disk_dir=tmp_path / "cache")
    assert [fresh.get(i, "h").model_id for i in ids] == ids
    assert fresh.get("vit_b:sam.pth:375042383:3", "h") is None


def test_states_with_numpy_features_are_sized():
    cache = EmbeddingCache(disk_dir=None)
    cache.put("m", "h", ImageState(np.zeros((10, 10), np.float32), (1, 1), (1, 1), "m"))
    assert cache.memory_bytes == 400


def test_disk_format_keeps_dtypes_without_pickle(tmp_path):
    half = ImageState(torch.arange(6, dtype=torch.bfloat16).reshape(2, 3), (2, 3), (4, 6), "m")
    plain = ImageState(np.arange(4, dtype=np.float16), (1, 4), (1, 4), "m")
    EmbeddingCache(disk_dir=tmp_path).put("m", "half", half)
    EmbeddingCache(disk_dir=tmp_path).put("m", "plain", plain)
    got = EmbeddingCache(disk_dir=tmp_path).get("m", "half")
    assert got.features.dtype == torch.bfloat16 and torch.equal(got.features, half.features)
    got = EmbeddingCache(disk_dir=tmp_path).get("m", "plain")
    assert isinstance(got.features, np.ndarray) and got.features.dtype == np.float16
    assert np.array_equal(got.features, plain.features)


def test_cache_file_naming_a_foreign_class_is_refused(tmp_path):
    """A file in the old generic format names a class to rebuild: it is a miss, never imported."""
    cache = EmbeddingCache(disk_dir=tmp_path)
    cache.put("m", "h", state(1))
    [path] = npz_files(tmp_path)
    meta = {"format": 1, "state": {"dataclass": "os:system", "fields": {}}}
    with path.open("wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    assert EmbeddingCache(disk_dir=tmp_path).get("m", "h") is None and not path.exists()


def test_cache_file_holding_a_pickle_is_refused(tmp_path):
    cache = EmbeddingCache(disk_dir=tmp_path)
    cache.put("m", "h", state(1))
    [path] = npz_files(tmp_path)
    with path.open("wb") as f:  # np.savez with an object array pickles it
        np.savez(f, features=np.array([object()], dtype=object), __meta__=np.zeros(1, np.uint8))
    assert EmbeddingCache(disk_dir=tmp_path).get("m", "h") is None and not path.exists()
