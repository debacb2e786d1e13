"""Image-embedding cache: an LRU in memory bounded by bytes, plus an optional on-disk store.

Entries are the ``ImageState`` that ``Predictor.get_image_state()`` returns, keyed by
``(model_id, content_hash)``: ``model_id`` is the engine's ``model.model_id`` (the one model
identity: ``load_model`` sets it from the model type and the checkpoint file's name, size and
mtime, and ``Predictor.set_image_state`` refuses a state of another id), ``content_hash`` is
``image_content_hash`` of the pixels. The same pixels under the same weights give the same
embedding whatever the file is called, and a renamed or edited file never hits a stale one.
Thread-safe: the GUI's model worker and its background prefetcher share one.

Disk files are ``.npz`` read with ``allow_pickle=False``: one features array plus a JSON header
of plain values. Reading a file never imports or unpickles anything it names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from .image_state import ImageState

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB: ~250 vit_h embeddings (4 MiB each)
DEFAULT_DISK_BUDGET = 4 << 30
_DISK_FORMAT = 2  # 1 was a generic pickle-free tree keyed by a GUI fingerprint; its files miss


def image_content_hash(image: np.ndarray) -> str:
    """blake2b of the pixels plus shape and dtype: (H, W[, C]) array -> 32 hex chars."""
    arr = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    h.update(memoryview(arr).cast("B"))  # hashlib drops the GIL on big buffers: UI stays live
    return h.hexdigest()


def model_dir_name(model_id: str) -> str:
    """The disk folder of a model's entries: 24 hex chars of ``model_id`` (which holds a file
    name, colons and whatever else, none of it fit for a path)."""
    return hashlib.blake2b(model_id.encode(), digest_size=12).hexdigest()


class EmbeddingCache:
    """LRU of image states in memory (``memory_budget`` bytes) over an optional disk store.

    ``pin(key)`` protects an entry (the open image) from eviction. The disk store keeps
    ``disk_dir/<model_dir_name(model_id)>/<content_hash>.npz`` files, evicting the least
    recently used beyond ``disk_budget`` bytes; a torn, unreadable or foreign file counts as a
    miss and is deleted. Memory entries keep their tensors where they are (the GPU, say); disk
    hits come back on the CPU.
    """

    def __init__(
        self,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        disk_dir: str | os.PathLike[str] | None = None,
        disk_budget: int = DEFAULT_DISK_BUDGET,
    ) -> None:
        if memory_budget < 0 or disk_budget < 0:
            raise ValueError("cache budgets must be >= 0 bytes")
        self.memory_budget = memory_budget
        self.disk_dir = Path(disk_dir) if disk_dir is not None else None
        self.disk_budget = disk_budget
        self._mem: OrderedDict[tuple[str, str], tuple[ImageState, int]] = OrderedDict()
        self._mem_bytes = 0
        self._pinned: set[tuple[str, str]] = set()
        self._disk_index: dict[Path, int] | None = None  # path -> size, scanned on first write
        # the worker and, on a GPU, the background prefetcher share one cache
        self._lock = threading.RLock()

    # -- memory -------------------------------------------------------------------------------
    @property
    def memory_bytes(self) -> int:
        return self._mem_bytes

    def __len__(self) -> int:
        return len(self._mem)

    def in_memory(self, model_id: str, content_hash: str) -> bool:
        return (model_id, content_hash) in self._mem

    def pin(self, model_id: str, content_hash: str) -> None:
        """Keep this entry in memory whatever the budget says (one open image at a time)."""
        with self._lock:
            self._pinned = {(model_id, content_hash)}

    def clear_memory(self) -> None:
        """Drop every in-memory entry (e.g. after an out-of-memory error)."""
        with self._lock:
            self._mem.clear()
            self._mem_bytes = 0

    def retain_model(self, model_id: str) -> None:
        """Free the memory held for other models (after a checkpoint switch)."""
        with self._lock:
            for key in [k for k in self._mem if k[0] != model_id]:
                self._mem_bytes -= self._mem.pop(key)[1]

    # -- both ---------------------------------------------------------------------------------
    def contains(self, model_id: str, content_hash: str) -> bool:
        """In memory or on disk, without loading anything."""
        with self._lock:
            path = self._path(model_id, content_hash)
            return self.in_memory(model_id, content_hash) or (path is not None and path.is_file())

    def get(self, model_id: str, content_hash: str) -> ImageState | None:
        """The cached state or None; a disk hit is promoted into memory (tensors on CPU)."""
        with self._lock:
            key = (model_id, content_hash)
            if key in self._mem:
                self._mem.move_to_end(key)
                return self._mem[key][0]
            state = self._read_disk(model_id, content_hash)
            if state is not None:
                self._put_memory(key, state)
            return state

    def put(self, model_id: str, content_hash: str, state: ImageState) -> None:
        """Store in memory (if it fits the budget at all) and on disk (if enabled)."""
        if not isinstance(state, ImageState):
            raise TypeError(f"the cache holds ImageState, got {type(state).__name__}")
        if state.model_id != model_id:
            raise ValueError(f"state of model {state.model_id!r} filed under {model_id!r}")
        with self._lock:
            self._put_memory((model_id, content_hash), state)
            self._write_disk(model_id, content_hash, state)

    def _put_memory(self, key: tuple[str, str], state: ImageState) -> None:
        if key in self._mem:
            self._mem_bytes -= self._mem.pop(key)[1]
        size = state.nbytes
        if size > self.memory_budget and key not in self._pinned:
            return
        self._mem[key] = (state, size)
        self._mem_bytes += size
        victims = (k for k in list(self._mem) if k != key and k not in self._pinned)
        while self._mem_bytes > self.memory_budget:
            victim = next(victims, None)
            if victim is None:
                break
            self._mem_bytes -= self._mem.pop(victim)[1]

    # -- disk ---------------------------------------------------------------------------------
    def _path(self, model_id: str, content_hash: str) -> Path | None:
        if self.disk_dir is None:
            return None
        if not content_hash.isalnum():
            raise ValueError(f"content hash {content_hash!r} is not a hex digest")
        return self.disk_dir / model_dir_name(model_id) / f"{content_hash}.npz"

    def _read_disk(self, model_id: str, content_hash: str) -> ImageState | None:
        path = self._path(model_id, content_hash)
        if path is None or not path.is_file():
            return None
        try:
            # open the file ourselves: np.load leaks its handle when the zip is torn
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["__meta__"]).decode())
                if meta.get("format") != _DISK_FORMAT or meta.get("model_id") != model_id:
                    raise ValueError("unknown cache file format or another model's entry")
                state = _unpack(meta, np.array(npz["features"]))
            os.utime(path)  # mtime = last use, for LRU eviction
            return state
        except Exception as exc:  # a torn write or an old format is just a miss
            log.warning("dropping unreadable embedding cache file %s: %s", path, exc)
            self._unlink(path)
            return None

    def _write_disk(self, model_id: str, content_hash: str, state: ImageState) -> None:
        path = self._path(model_id, content_hash)
        if path is None or self.disk_budget == 0:
            return
        index = self._scan_disk()
        meta, features = _pack(state, model_id)
        arrays = {"features": features}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # temp + rename so a reader never sees half a file; no fsync: a cache entry lost to
            # a power cut is only a re-encode.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, **arrays)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not write embedding cache file %s: %s", path, exc)
            return
        index[path] = path.stat().st_size
        self._evict_disk(index)

    def _scan_disk(self) -> dict[Path, int]:
        if self._disk_index is None:
            assert self.disk_dir is not None
            self._disk_index = {p: p.stat().st_size for p in self.disk_dir.glob("*/*.npz")}
        return self._disk_index

    def _evict_disk(self, index: dict[Path, int]) -> None:
        total = sum(index.values())
        if total <= self.disk_budget:
            return
        by_age = sorted(index, key=lambda p: p.stat().st_mtime if p.exists() else 0.0)
        for p in by_age:
            if total <= self.disk_budget:
                break
            total -= index.pop(p)
            self._unlink(p)

    def _unlink(self, path: Path) -> None:
        if self._disk_index is not None:
            self._disk_index.pop(path, None)
        try:
            path.unlink()
        except OSError:
            pass


# -- disk format: one .npz (no pickle): the features array and a JSON header of plain values ----
def _pack(state: ImageState, model_id: str) -> tuple[dict, np.ndarray]:
    f = state.features
    if isinstance(f, torch.Tensor):
        t = f.detach().cpu()
        # numpy has no bfloat16; float32 holds it exactly and is cast back on load
        array = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        kind, dtype = "torch", str(t.dtype).removeprefix("torch.")
    else:
        array = np.asarray(f)
        kind, dtype = "numpy", array.dtype.str
    meta = {
        "format": _DISK_FORMAT,
        "model_id": model_id,
        "original_size": [int(v) for v in state.original_size],
        "input_size": [int(v) for v in state.input_size],
        "kind": kind,
        "dtype": dtype,
    }
    return meta, array


def _unpack(meta: dict, array: np.ndarray) -> ImageState:
    if array.dtype.hasobject:
        raise ValueError("object arrays are never cached")
    if meta["kind"] == "torch":
        dtype = getattr(torch, str(meta["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"not a torch dtype: {meta['dtype']!r}")
        features: torch.Tensor | np.ndarray = torch.from_numpy(array).to(dtype)
    elif meta["kind"] == "numpy":
        features = array.astype(np.dtype(str(meta["dtype"])), copy=False)
    else:
        raise ValueError(f"unknown features kind {meta['kind']!r}")
    h, w = (int(v) for v in meta["original_size"])
    ih, iw = (int(v) for v in meta["input_size"])
    return ImageState(features, (h, w), (ih, iw), str(meta["model_id"]))
