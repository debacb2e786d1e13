"""Where the files of a transformers checkpoint folder are (``save_pretrained``'s layout).

Torch-free, and free of the models store, so the resolver, the store and the reader can all
use it.
"""

from __future__ import annotations

from pathlib import Path

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SHARD_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
WEIGHT_CHOICES = (WEIGHT_FILES[0], SHARD_INDEXES[0], WEIGHT_FILES[1], SHARD_INDEXES[1])
"""Where a folder's (and ``models download hf:``'s) weights are looked for, first found wins:
safetensors (one file, then shards) before pickles."""


def find_weights(folder: Path) -> Path | None:
    """The weights file (or shard index) of a transformers folder, safetensors first."""
    for name in WEIGHT_CHOICES:
        if (folder / name).is_file():
            return folder / name
    return None


def is_hf_folder(path: Path) -> bool:
    """A folder as ``save_pretrained`` writes it: config.json beside the weights."""
    return path.is_dir() and (path / "config.json").is_file() and find_weights(path) is not None


def weights_file(path: Path) -> Path:
    """The file whose size and mtime identify a checkpoint (the weights inside a folder)."""
    return (find_weights(path) or path) if path.is_dir() else path
