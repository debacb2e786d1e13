"""``load_model``: resolve a checkpoint, detect its architecture, build and load the network."""

from __future__ import annotations

from pathlib import Path

import torch

from annotator.engine.devices import resolve_device
from annotator.engine.errors import (
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    ModelTypeMismatchError,
)
from annotator.engine.modeling.architectures import MODEL_TYPES
from annotator.engine.modeling.sam import ModelSpec, Sam, build_model
from annotator.engine.modeling.sam2 import Sam2, Sam2Spec, build_sam2
from annotator.engine.precision import apply_precision, resolve_precision
from annotator.engine.weights.bundled import bundled_checkpoint_path
from annotator.engine.weights.hf_format import read_checkpoint
from annotator.engine.weights.hf_layout import is_hf_folder, weights_file
from annotator.engine.weights.resolve import CheckpointFileMissing, resolve_checkpoint
from annotator.engine.weights.state_dict import (
    check_keys,
    detect_spec,
    warn_non_finite,
)


def checkpoint_file(checkpoint: str | Path | None) -> Path:
    """The file (or transformers folder) ``load_model`` reads for ``checkpoint`` (a path, a
    model name, ``hf:owner/name``, or None for the bundled default), through the one resolver;
    errors are CheckpointErrors naming it."""
    if checkpoint is not None:
        path = Path(checkpoint).expanduser()
        if path.exists() and not path.is_file() and not is_hf_folder(path):
            raise CheckpointFormatError(
                path,
                "is a folder, not a checkpoint file or a transformers checkpoint folder "
                "(config.json with model.safetensors or pytorch_model.bin)",
            )
    try:
        resolved = resolve_checkpoint(checkpoint)
    except CheckpointFileMissing as exc:
        raise CheckpointNotFoundError(exc.path, "no such file") from None
    except ValueError as exc:  # the store's ModelStoreError: unknown or not installed name
        raise CheckpointNotFoundError(Path(str(checkpoint)), str(exc)) from exc
    return bundled_checkpoint_path() if resolved is None else resolved


def load_model(
    checkpoint: str | Path | None = None,
    model_type: str = "auto",
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = "auto",
) -> Sam | Sam2:
    """Load a SAM-family checkpoint into an eval-mode :class:`Sam` or :class:`Sam2`.

    checkpoint: a ``.pth``/``.pt`` file (official SAM, MobileSAM, LiteMedSAM, SAM 2.1
    ``sam2.1_hiera_*.pt``; the state dict may be wrapped under ``model`` or ``state_dict``), a
    transformers checkpoint (a folder from ``save_pretrained`` or a ``.safetensors`` file, HF
    key names mapped to the engine's), a model name, ``hf:owner/name`` (downloaded with
    ``annotator models download``), or None for the bundled LiteMedSAM (a box-prompt model).
    model_type: "auto" (detect from the weights) or one of ``MODEL_TYPES``.
    device: "auto" (cuda > mps > cpu) or a torch device. dtype: "auto" (default: the image
    encoder in bfloat16 where the device has native bf16, the rest float32; see
    :mod:`annotator.engine.precision`), or float32, bfloat16, float16 (GPU only) for the whole
    network. ``model.precision`` says what was chosen.

    Raises :class:`~annotator.engine.errors.CheckpointError` subclasses naming the file.
    """
    if model_type != "auto" and model_type not in MODEL_TYPES:
        raise ValueError(
            f"model_type {model_type!r} unknown; expected 'auto' or one of {', '.join(MODEL_TYPES)}"
        )
    dev = resolve_device(device)
    resolve_precision(dtype, dev)  # a bad dtype fails before the file is read
    path = checkpoint_file(checkpoint)
    sd, stated = read_checkpoint(path)
    warn_non_finite(sd, path)
    spec = stated or detect_spec(sd, path)
    if model_type != "auto" and model_type != spec.model_type:
        if isinstance(spec, Sam2Spec):
            shape = f"Hiera width {spec.embed_dim}, stages {spec.stages}"
        elif spec.embed_dim:
            shape = f"embed dim {spec.embed_dim}, {spec.depth} blocks"
        else:
            shape = "TinyViT encoder"
        raise ModelTypeMismatchError(
            path, f"model_type={model_type!r} but the weights are {spec.model_type} ({shape})"
        )
    precision = resolve_precision(dtype, dev, spec.model_type)
    with torch.device("meta"):
        model = build_network(spec)
    check_keys(model, sd, path)
    try:
        model.load_state_dict(sd, strict=True, assign=True)
    except RuntimeError as exc:  # pragma: no cover - _check_keys catches these first
        raise CheckpointError(path, str(exc).splitlines()[0]) from exc
    model.make_buffers()
    model.checkpoint_path = str(path)
    stat = weights_file(path).stat()
    model.model_id = (
        f"{spec.model_type}:{path.name}:{stat.st_size}:{stat.st_mtime_ns}:{precision.key}"
    )
    model = apply_precision(model.to(device=dev), precision).eval()
    return model


def build_network(spec: ModelSpec | Sam2Spec) -> Sam | Sam2:
    """An untrained network for a spec of either family (build it under the meta device to
    get shapes only)."""
    return build_sam2(spec) if isinstance(spec, Sam2Spec) else build_model(spec)
