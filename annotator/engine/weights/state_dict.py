"""Reading a checkpoint's state dict safely and telling its architecture: the bottom of weights/.

Checkpoints are untrusted input: ``torch.load(weights_only=True)``, and every error names the
file and what is wrong with it.
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch

from annotator.engine.errors import (
    CheckpointFormatError,
    NonFiniteWeightsWarning,
    ShapeMismatchError,
    UnknownArchitectureError,
)
from annotator.engine.modeling.sam import VIT_CONFIGS, ModelSpec
from annotator.engine.modeling.sam2 import SAM2_CONFIGS, Sam2Spec


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
    _refuse_quantised(obj, path)
    sd = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise CheckpointFormatError(path, "holds no tensors")
    if all(k.startswith("module.") for k in sd):
        sd = {k[len("module.") :]: v for k, v in sd.items()}
    return sd


_QUANTISED = (
    "holds quantised weights ({what}); the engine loads floating-point checkpoints "
    "(float32, float16 or bfloat16): use the original, unquantised file"
)


def _refuse_quantised(obj: Mapping[object, object], path: Path) -> None:
    """A quantised state dict gets its own message, not a list of missing and odd keys."""
    packed = next((str(k) for k in obj if "_packed_params" in str(k)), None)
    if packed is not None:
        raise CheckpointFormatError(path, _QUANTISED.format(what=f"packed int8 layers: {packed}"))
    for key, value in obj.items():
        if isinstance(value, torch.Tensor) and value.is_quantized:
            raise CheckpointFormatError(path, _QUANTISED.format(what=f"{key} is {value.dtype}"))


def warn_non_finite(sd: Mapping[str, torch.Tensor], path: Path) -> list[str]:
    """Warn (NonFiniteWeightsWarning) when tensors hold NaN or Inf; returns their names.

    Such weights load and run, but every mask comes out empty or full.
    """
    bad = [k for k, v in sd.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        shown = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        warnings.warn(
            f"{path}: {len(bad)} tensor(s) hold NaN or Inf values ({shown}); the masks will be "
            "empty or meaningless. The file is probably damaged or from a diverged training run.",
            NonFiniteWeightsWarning,
            stacklevel=3,
        )
    return bad


HIERA_KEY = "image_encoder.trunk.patch_embed.proj.weight"
SAM2_FILE_NAMES = {
    "sam2.1_hiera_t": "sam2.1_hiera_tiny.pt",
    "sam2.1_hiera_s": "sam2.1_hiera_small.pt",
    "sam2.1_hiera_b+": "sam2.1_hiera_base_plus.pt",
    "sam2.1_hiera_l": "sam2.1_hiera_large.pt",
}


def detect_sam2_spec(
    sd: Mapping[str, torch.Tensor], path: Path | None = None, check_v21: bool = True
) -> Sam2Spec:
    """SAM 2.1 size from the Hiera trunk: its width and the blocks per stage (a stage starts
    at each block with a ``proj`` layer, where the width doubles). ``check_v21`` refuses a
    SAM 2.0 checkpoint (no 2.1 object-pointer weights; image-only weights cannot tell)."""
    dim = int(sd[HIERA_KEY].shape[0])
    blocks = sorted(
        {
            int(m.group(1))
            for k in sd
            if (m := re.match(r"image_encoder\.trunk\.blocks\.(\d+)\.", k))
        }
    )
    starts = [0] + [i for i in blocks if f"image_encoder.trunk.blocks.{i}.proj.weight" in sd]
    ends = [*starts[1:], len(blocks)]
    stages = tuple(e - s for s, e in zip(starts, ends, strict=True))
    spec = next(
        (c for c in SAM2_CONFIGS.values() if (c.embed_dim, c.stages) == (dim, stages)), None
    )
    if spec is None:
        known = "; ".join(
            f"{c.model_type}: {c.embed_dim}, {c.stages}" for c in SAM2_CONFIGS.values()
        )
        raise UnknownArchitectureError(
            path,
            f"SAM 2 Hiera image encoder of width {dim} with stages {stages} is not a known "
            f"size (width, blocks per stage: {known})",
        )
    if check_v21 and ("no_obj_embed_spatial" not in sd or "obj_ptr_tpos_proj.weight" not in sd):
        raise UnknownArchitectureError(
            path,
            "is a SAM 2.0 checkpoint (sam2_hiera_*.pt: it has no 'no_obj_embed_spatial' or "
            "'obj_ptr_tpos_proj' weights), which this engine does not load; use the SAM 2.1 "
            f"file of the same size, {SAM2_FILE_NAMES[spec.model_type]}, instead",
        )
    return spec


def detect_spec(sd: Mapping[str, torch.Tensor], path: Path | None = None) -> ModelSpec | Sam2Spec:
    """Architecture of a state dict: ViT (dims, depth, heads, global blocks), TinyViT stem, or
    SAM 2.1 Hiera size."""
    vit_key = "image_encoder.patch_embed.proj.weight"
    tiny_key = "image_encoder.patch_embed.seq.0.c.weight"
    if HIERA_KEY in sd:
        return detect_sam2_spec(sd, path)
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
        f"not a SAM-family state dict (keys start {sample}); expected '{vit_key}' (SAM ViT-B/L/H), "
        f"'{tiny_key}' (MobileSAM / LiteMedSAM TinyViT) or '{HIERA_KEY}' (SAM 2.1)",
    )


def check_keys(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    model_type = getattr(model, "model_type", type(model).__name__)
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [
        f"{k} {tuple(sd[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in sd and tuple(sd[k].shape) != tuple(v.shape)
    ]
    not_float = [
        f"{k} ({sd[k].dtype})"
        for k, v in expected.items()
        if k in sd and v.is_floating_point() and not sd[k].is_floating_point()
    ]
    if not_float:
        raise CheckpointFormatError(
            path, _QUANTISED.format(what=f"{len(not_float)} integer tensor(s): {not_float[0]}")
        )
    if wrong:
        raise ShapeMismatchError(
            path,
            f"{len(wrong)} tensor shape(s) do not match {model_type}: " + "; ".join(wrong[:3]),
        )
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:3])}")
        raise ShapeMismatchError(
            path, f"state dict does not match {model_type}: " + "; ".join(parts)
        )
