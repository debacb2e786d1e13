"""Build a ``ConceptPredictor`` from a transformers SAM 3 checkpoint folder or hub id."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import torch

from annotator.engine.devices import resolve_device
from annotator.engine.errors import CheckpointError, MissingDependencyError
from annotator.engine.precision import resolve_precision

from .precision import apply_concept_precision
from .predictor import ConceptPredictor

INSTALL_HINT = 'pip install "annotator[sam3]"'


def import_transformers() -> ModuleType:
    """transformers, or MissingDependencyError saying how to install it (and which version
    brings SAM 3) in one line."""
    try:
        import transformers
    except ImportError as exc:
        raise MissingDependencyError(
            f"SAM 3 needs the transformers package, which is not installed: {INSTALL_HINT}"
        ) from exc
    if not hasattr(transformers, "Sam3Model"):
        raise MissingDependencyError(
            f"transformers {transformers.__version__} has no SAM 3 (it came in 5.x): "
            f'pip install -U "transformers>=5.5"'
        )
    return transformers


def load_concept_predictor(
    source: str | Path,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = "auto",
) -> ConceptPredictor:
    """A ConceptPredictor for ``source``: a folder holding a transformers SAM 3 checkpoint
    (``config.json``, ``model.safetensors``, the processor and tokenizer files, as
    ``save_pretrained`` writes them) or a hub id already in the local hub cache.

    Hub downloads go through annotator.engine.weights (revision pin, checksums, gated-model
    messages); this function reads what is on disk only (``local_files_only``) and never
    reaches the network. dtype: "auto" (bf16 vision backbone where the device has native bf16,
    else float32), "float32", "bfloat16" or "float16" (not on the CPU).
    """
    transformers = import_transformers()
    dev = resolve_device(device)
    precision = resolve_precision(dtype, dev)
    where = str(source)
    if Path(where).exists() and not (Path(where) / "config.json").is_file():
        raise CheckpointError(where, "not a transformers SAM 3 checkpoint folder (no config.json)")
    try:
        config = transformers.AutoConfig.from_pretrained(where, local_files_only=True)
    except OSError as exc:
        raise CheckpointError(where, f"cannot read its config: {_first_line(exc)}") from None
    if getattr(config, "model_type", None) not in ("sam3", "sam3_video"):
        raise CheckpointError(
            where, f"holds a {getattr(config, 'model_type', '?')!r} model, not SAM 3 ('sam3')"
        )
    try:
        model = transformers.Sam3Model.from_pretrained(
            where, dtype=torch.float32, local_files_only=True
        )
        processor = transformers.Sam3Processor.from_pretrained(where, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise CheckpointError(where, _first_line(exc)) from None
    model = apply_concept_precision(model.to(dev), precision).eval()
    return ConceptPredictor(model, processor)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
