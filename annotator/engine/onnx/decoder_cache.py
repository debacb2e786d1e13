"""On-disk cache of the predictor's ONNX decoder graphs, and their export in a child process.

Exporting a graph (torch's tracer and ONNX serialiser) holds the GIL for seconds at a time
(measured: 2.3 s without a break in a 5 s export of LiteMedSAM's decoder), so a thread that
exports stalls every other Python thread of the process, the app's UI thread included. The
app therefore exports in a child process (``python -m annotator.engine.onnx.decoder_cache``),
which writes the graphs here, and its model thread only reads them and builds the ONNX Runtime
sessions (0.1-0.6 s). Each graph is keyed by a digest of the exact prompt-encoder and
mask-decoder weights it was exported from (and the export format, torch and onnx versions), so
a file never serves other weights, whatever the model's name or path.

Directory: ``ANNOTATOR_ONNX_CACHE_DIR`` ("" disables the cache) or the per-user cache folder's
``onnx-decoders``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import logging
import os
import subprocess
import sys
from pathlib import Path

import torch

from annotator.atomic import atomic_write_bytes
from annotator.engine.modeling.sam import Sam

CACHE_DIR_ENV = "ANNOTATOR_ONNX_CACHE_DIR"
FORMAT = "prompt-decoder-2"
"""Bump when the exported graphs change (wrappers, inputs, opset)."""
_log = logging.getLogger(__name__)


def default_cache_dir() -> Path | None:
    """Where the graphs are cached: ``$ANNOTATOR_ONNX_CACHE_DIR`` ("" = no cache) or the
    per-user cache folder."""
    env = os.environ.get(CACHE_DIR_ENV)
    if env is not None:
        return Path(env).expanduser() if env else None
    import platformdirs

    return Path(platformdirs.user_cache_dir("annotator")) / "onnx-decoders"


def graph_key(model: Sam, with_mask: bool) -> str:
    """Hex digest naming the graph exported from ``model``'s prompt encoder + mask decoder
    (``with_mask``: the mask-prompt variant)."""
    h = hashlib.blake2b(digest_size=20)
    # the version from the metadata: importing onnx holds the GIL for ~1 s (measured 1.8 s)
    h.update(f"{FORMAT}|{with_mask}|{model.img_size}|{torch.__version__}".encode())
    h.update(importlib.metadata.version("onnx").encode())
    for part in (model.prompt_encoder, model.mask_decoder):
        for name, t in sorted(part.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def graph_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.onnx"


def read_graph(cache_dir: Path | None, key: str) -> bytes | None:
    """The cached graph, or None when absent or unreadable."""
    if cache_dir is None:
        return None
    try:
        return graph_path(cache_dir, key).read_bytes()
    except OSError:
        return None


def write_graph(cache_dir: Path | None, key: str, data: bytes) -> None:
    """Store a graph atomically; a cache that cannot be written is logged, not raised."""
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(graph_path(cache_dir, key), data)
    except OSError as exc:
        _log.warning("cannot cache the ONNX decoder in %s: %s", cache_dir, exc)


def export_graphs(model: Sam, cache_dir: Path) -> list[str]:
    """Export both graphs of ``model`` into ``cache_dir`` (those missing); returns their keys."""
    from .export import prompt_decoder_bytes

    keys = []
    for with_mask in (False, True):
        key = graph_key(model, with_mask)
        if not graph_path(cache_dir, key).is_file():
            with torch.inference_mode(False):
                write_graph(cache_dir, key, prompt_decoder_bytes(model, with_mask=with_mask))
        keys.append(key)
    return keys


def all_cached(model: Sam, cache_dir: Path) -> bool:
    """Whether both graphs for ``model``'s exact weights are in ``cache_dir``."""
    return all(graph_path(cache_dir, graph_key(model, m)).is_file() for m in (False, True))


def start_export_child(model: Sam, cache_dir: Path) -> subprocess.Popen | None:
    """Start a child process that loads ``model``'s checkpoint (``model.checkpoint_path``) in
    float32 and exports its graphs into ``cache_dir``, on one core, niced; None where the
    model has no checkpoint file to load. Its graphs match ``model``'s only if the file still
    holds the same weights: check with :func:`all_cached` once it has exited."""
    checkpoint = getattr(model, "checkpoint_path", None)
    if not checkpoint:
        return None
    cmd = [sys.executable, "-m", __name__, str(checkpoint), "--model-type", str(model.model_type)]
    cmd += ["--cache-dir", str(cache_dir)]
    env = dict(os.environ, OMP_NUM_THREADS="1")  # one core; the parent keeps the other
    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError as exc:
        _log.warning("cannot start the ONNX decoder export process: %s", exc)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="export the predictor's ONNX decoder graphs")
    parser.add_argument("checkpoint")
    parser.add_argument("--model-type", default="auto")
    parser.add_argument("--cache-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if hasattr(os, "nice"):
        os.nice(5)  # background work: the app's own threads come first
    from annotator.engine.weights.load import load_model

    model = load_model(args.checkpoint, model_type=args.model_type, device="cpu", dtype="float32")
    if not isinstance(model, Sam):
        print(f"{type(model).__name__} has no ONNX decoder", file=sys.stderr)
        return 2
    for key in export_graphs(model, args.cache_dir):
        print(key)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
