"""Image-embedding cache: an LRU in memory bounded by bytes, plus an optional on-disk store.

Entries are whatever ``Predictor.get_image_state()`` returns (a nest of tensors / arrays /
tuples), keyed by ``(model_id, content_hash)``: the same pixels under the same weights give the
same embedding, whatever the file is called, and a renamed or edited file never hits a stale one.
Used from the model worker thread only, so there is no locking.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
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
    """Identify a network by its weights without hashing gigabytes: 24 hex chars.

    For every state-dict entry: name, shape, dtype and the first and last 16 values. A fine-tune
    changes essentially every tensor, so its ends differ; hashing all of vit_h (2.5 GB) would
    cost seconds per checkpoint load for no practical gain.
    """
    import torch

    h = hashlib.blake2b(digest_size=12)
    h.update(str(getattr(model, "model_type", type(model).__name__)).encode())
    if isinstance(model, torch.nn.Module):
        with torch.no_grad():
            for name, t in model.state_dict().items():
                flat = t.detach().reshape(-1)
                ends = torch.cat([flat[:16], flat[-16:]]).to("cpu", torch.float64)
                h.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
                h.update(ends.numpy().tobytes())
    else:
        h.update(repr(getattr(model, "model_id", id(model))).encode())
    return h.hexdigest()


def state_nbytes(state: Any) -> int:
    """Bytes held by the tensors / arrays in a nested state."""
    return sum(_nbytes(x) for x in _leaves(state))


def state_to(state: Any, device: Any) -> Any:
    """Copy of ``state`` with every tensor on ``device`` (numpy and scalars untouched)."""
    import torch

    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, dict):
        return {k: state_to(v, device) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(state_to(v, device) for v in state)
    return state


class EmbeddingCache:
    """LRU of image states in memory (``memory_budget`` bytes) over an optional disk store.

    ``pin(key)`` protects an entry (the open image) from eviction. The disk store keeps
    ``disk_dir/<model_id>/<content_hash>.pt`` files, evicting the least recently used beyond
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
        self._pinned = {(model_id, content_hash)}

    def clear_memory(self) -> None:
        """Drop every in-memory entry (e.g. after an out-of-memory error)."""
        self._mem.clear()
        self._mem_bytes = 0

    def retain_model(self, model_id: str) -> None:
        """Free the memory held for other models (after a checkpoint switch)."""
        for key in [k for k in self._mem if k[0] != model_id]:
            self._mem_bytes -= self._mem.pop(key)[1]

    # -- both ---------------------------------------------------------------------------------
    def contains(self, model_id: str, content_hash: str) -> bool:
        """In memory or on disk, without loading anything."""
        path = self._path(model_id, content_hash)
        return self.in_memory(model_id, content_hash) or (path is not None and path.is_file())

    def get(self, model_id: str, content_hash: str) -> Any | None:
        """The cached state or None; a disk hit is promoted into memory (tensors on CPU)."""
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
        return self.disk_dir / model_id / f"{content_hash}.pt"

    def _read_disk(self, model_id: str, content_hash: str) -> Any | None:
        path = self._path(model_id, content_hash)
        if path is None or not path.is_file():
            return None
        import torch

        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(payload, dict) or payload.get("format") != _DISK_FORMAT:
                raise ValueError("unknown cache file format")
            os.utime(path)  # mtime = last use, for LRU eviction
            return payload["state"]
        except Exception as exc:  # a torn write or an old format is just a miss
            log.warning("dropping unreadable embedding cache file %s: %s", path, exc)
            self._unlink(path)
            return None

    def _write_disk(self, model_id: str, content_hash: str, state: Any) -> None:
        path = self._path(model_id, content_hash)
        if path is None or self.disk_budget == 0:
            return
        import torch

        index = self._scan_disk()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # temp + rename so a reader never sees half a file; no fsync: a cache entry lost to
            # a power cut is only a re-encode.
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                torch.save({"format": _DISK_FORMAT, "state": state_to(state, "cpu")}, f)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("could not write embedding cache file %s: %s", path, exc)
            return
        index[path] = path.stat().st_size
        self._evict_disk(index)

    def _scan_disk(self) -> dict[Path, int]:
        if self._disk_index is None:
            assert self.disk_dir is not None
            self._disk_index = {p: p.stat().st_size for p in self.disk_dir.glob("*/*.pt")}
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


def _leaves(state: Any) -> Iterator[Any]:
    if isinstance(state, dict):
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
