"""Image-embedding cache: an LRU in memory bounded by bytes, plus an optional on-disk store.

Entries are whatever ``Predictor.get_image_state()`` returns (a nest of tensors / arrays /
tuples), keyed by ``(model_id, content_hash)``: the same pixels under the same weights give the
same embedding, whatever the file is called, and a renamed or edited file never hits a stale one.
Thread-safe: the model worker and the background prefetcher share one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MEMORY_BUDGET = 1 << 30  # 1 GiB: ~250 vit_h embeddings (4 MiB each)
DEFAULT_DISK_BUDGET = 4 << 30
_DISK_FORMAT = 1


def image_content_hash(image: np.ndarray) -> str:
    """blake2b of the pixels plus shape and dtype: (H, W[, C]) array -> 32 hex chars."""
    arr = np.ascontiguousarray(image)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{arr.shape}|{arr.dtype.str}|".encode())
    h.update(memoryview(arr).cast("B"))  # hashlib drops the GIL on big buffers: UI stays live
    return h.hexdigest()


def model_fingerprint(model: Any) -> str:
    """Cache key part for a network: 24 hex chars.

    Hashes ``model.model_id`` (the engine's: type, checkpoint name, size, mtime) and, for an
    ``nn.Module``, every state-dict entry's name, shape, dtype and first and last 16 values: two
    networks built without a checkpoint share a model_id but not their weights. (Hashing all of
    vit_h's 2.5 GB would cost seconds per load; a fine-tune changes every tensor's ends.)
    """
    import torch

    h = hashlib.blake2b(digest_size=12)
    model_id = getattr(model, "model_id", None)
    is_module = isinstance(model, torch.nn.Module)
    if model_id is None and not is_module:
        raise TypeError(f"cannot fingerprint a {type(model).__name__}: give it a model_id")
    h.update(f"{model_id!r}|{getattr(model, 'model_type', '')}|".encode())
    if is_module:
        with torch.no_grad():
            for name, t in model.state_dict().items():
                flat = t.detach().reshape(-1)
                ends = torch.cat([flat[:16], flat[-16:]]).to("cpu", torch.float64)
                h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
                h.update(ends.numpy().tobytes())
    return h.hexdigest()


def state_nbytes(state: Any) -> int:
    """Bytes held by the tensors / arrays in a nested state."""
    return sum(_nbytes(x) for x in _leaves(state))


def state_to(state: Any, device: Any) -> Any:
    """Copy of ``state`` with every tensor on ``device`` (numpy and scalars untouched)."""
    import torch

    if isinstance(state, torch.Tensor):
        return state.to(device)
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        changes = {f.name: state_to(getattr(state, f.name), device) for f in _fields(state)}
        return dataclasses.replace(state, **changes)
    if isinstance(state, dict):
        return {k: state_to(v, device) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(state_to(v, device) for v in state)
    return state


class EmbeddingCache:
    """LRU of image states in memory (``memory_budget`` bytes) over an optional disk store.

    ``pin(key)`` protects an entry (the open image) from eviction. The disk store keeps
    ``disk_dir/<model_id>/<content_hash>.npz`` files, evicting the least recently used beyond
    ``disk_budget`` bytes; a torn or unreadable file counts as a miss and is deleted.
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
        self._mem: OrderedDict[tuple[str, str], tuple[Any, int]] = OrderedDict()
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

    def get(self, model_id: str, content_hash: str) -> Any | None:
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

    def put(self, model_id: str, content_hash: str, state: Any) -> None:
        """Store in memory (if it fits the budget at all) and on disk (if enabled)."""
        with self._lock:
            self._put_memory((model_id, content_hash), state)
            self._write_disk(model_id, content_hash, state)

    def _put_memory(self, key: tuple[str, str], state: Any) -> None:
        if key in self._mem:
            self._mem_bytes -= self._mem.pop(key)[1]
        size = state_nbytes(state)
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
        return self.disk_dir / model_id / f"{content_hash}.npz"

    def _read_disk(self, model_id: str, content_hash: str) -> Any | None:
        path = self._path(model_id, content_hash)
        if path is None or not path.is_file():
            return None
        try:
            # open the file ourselves: np.load leaks its handle when the zip is torn
            with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
                meta = json.loads(bytes(npz["__meta__"]).decode())
                if meta.get("format") != _DISK_FORMAT:
                    raise ValueError("unknown cache file format")
                state = _unpack(meta["state"], npz)
            os.utime(path)  # mtime = last use, for LRU eviction
            return state
        except Exception as exc:  # a torn write or an old format is just a miss
            log.warning("dropping unreadable embedding cache file %s: %s", path, exc)
            self._unlink(path)
            return None

    def _write_disk(self, model_id: str, content_hash: str, state: Any) -> None:
        path = self._path(model_id, content_hash)
        if path is None or self.disk_budget == 0:
            return
        index = self._scan_disk()
        arrays: dict[str, np.ndarray] = {}
        meta = {"format": _DISK_FORMAT, "state": _pack(state, arrays)}
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


def _fields(obj: Any) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(obj) if f.init]


def _leaves(state: Any) -> Iterator[Any]:
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        for f in _fields(state):
            yield from _leaves(getattr(state, f.name))
    elif isinstance(state, dict):
        for v in state.values():
            yield from _leaves(v)
    elif isinstance(state, (list, tuple)):
        for v in state:
            yield from _leaves(v)
    else:
        yield state


def _nbytes(x: Any) -> int:
    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    numel = getattr(x, "numel", None)
    if callable(numel) and hasattr(x, "element_size"):
        return int(numel() * x.element_size())
    return 0


# -- disk format: one .npz (no pickle) with a JSON tree whose array leaves point into it --------
def _pack(state: Any, arrays: dict[str, np.ndarray]) -> Any:
    import torch

    if isinstance(state, torch.Tensor):
        t = state.detach().cpu()
        name = f"a{len(arrays)}"
        # numpy has no bfloat16; float32 holds it exactly and is cast back on load
        arrays[name] = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        return {"torch": name, "dtype": str(t.dtype).removeprefix("torch.")}
    if isinstance(state, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = state
        return {"numpy": name}
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        cls = type(state)
        return {
            "dataclass": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {f.name: _pack(getattr(state, f.name), arrays) for f in _fields(state)},
        }
    if isinstance(state, dict):
        if not all(isinstance(k, str) for k in state):
            raise TypeError("only str-keyed dicts can be cached on disk")
        return {"dict": {k: _pack(v, arrays) for k, v in state.items()}}
    if isinstance(state, (list, tuple)):
        return {"tuple" if isinstance(state, tuple) else "list": [_pack(v, arrays) for v in state]}
    if state is None or isinstance(state, (bool, int, float, str)):
        return {"value": state}
    raise TypeError(f"cannot cache a {type(state).__name__} on disk")


def _unpack(node: Any, arrays: Any) -> Any:
    import torch

    if "torch" in node:
        t = torch.from_numpy(np.array(arrays[node["torch"]]))
        return t.to(getattr(torch, node["dtype"]))
    if "numpy" in node:
        return np.array(arrays[node["numpy"]])
    if "dataclass" in node:
        module, _, qualname = node["dataclass"].partition(":")
        if not module.startswith("annotator."):  # never import what a cache file names
            raise ValueError(f"refusing to rebuild {node['dataclass']}")
        cls = getattr(importlib.import_module(module), qualname)
        return cls(**{k: _unpack(v, arrays) for k, v in node["fields"].items()})
    if "dict" in node:
        return {k: _unpack(v, arrays) for k, v in node["dict"].items()}
    if "tuple" in node:
        return tuple(_unpack(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_unpack(v, arrays) for v in node["list"]]
    return node["value"]
