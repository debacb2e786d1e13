"""Which parts of a network run in which floating-point precision.

``"auto"`` (the default) runs the image encoder in bfloat16 where the hardware has native
bf16 arithmetic (a CPU with AVX512-BF16 or AMX, asked through oneDNN; a GPU for which torch
reports bf16 support, NVIDIA or AMD alike) and everything else in float32. The encoder is
nearly all of an image's cost, and bf16 there was measured 4.4x faster than float32 on an
AVX512-BF16 CPU; the encoder's neck, the prompt encoder and the mask decoder cost little per
click and stay float32, which keeps the masks closest to float32's.

An explicit dtype (``"float32"``, ``"bfloat16"``, ``"float16"``) casts the whole network, as
``model.to(dtype)`` does, except the prompt encoder's Fourier frequencies (see below).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from annotator.engine.devices import onednn_bf16, resolve_dtype

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
_SHORT = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}


@dataclass(frozen=True)
class Precision:
    """encoder: dtype of the image encoder's body; rest: dtype of everything else.

    requested: what the caller asked for ("auto", "float32", ...).
    """

    encoder: torch.dtype
    rest: torch.dtype
    requested: str

    @property
    def label(self) -> str:
        """Short words for a status bar: "bf16 encoder (auto)", "fp32 (auto)", "bf16"."""
        if self.encoder == self.rest:
            words = _SHORT[self.rest]
        else:
            words = f"{_SHORT[self.encoder]} encoder"
        return f"{words} (auto)" if self.requested == "auto" else words

    @property
    def key(self) -> str:
        """Part of the model identity: embeddings made in different precisions differ."""
        return f"{_SHORT[self.encoder]}-{_SHORT[self.rest]}"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 natively (so bf16 is faster, not emulated)."""
    if device.type == "cpu":
        return onednn_bf16()
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    return False  # MPS and others: float32 until measured


# Families that "auto" keeps in float32 because bf16 misses the quality bar (mean IoU loss
# against ground truth <= 0.005, issue 12): LiteMedSAM on the sample photos' 9 hand-drawn
# objects lost 0.017 (0.770 -> 0.753; tests/engine/test_precision.py), and its 256 px encode
# is cheap in float32 anyway.
AUTO_FLOAT32_FAMILIES = frozenset({"lite_medsam"})


def resolve_precision(
    dtype: str | torch.dtype | None, device: torch.device, model_type: str | None = None
) -> Precision:
    """None or "auto" -> bf16 encoder where native (else fp32, and always fp32 for the
    families in AUTO_FLOAT32_FAMILIES); a dtype -> all of it."""
    if dtype is None or (isinstance(dtype, str) and dtype == "auto"):
        bf16 = native_bf16(device) and model_type not in AUTO_FLOAT32_FAMILIES
        encoder = torch.bfloat16 if bf16 else torch.float32
        return Precision(encoder, torch.float32, "auto")
    resolved = resolve_dtype(dtype, device)
    return Precision(resolved, resolved, str(dtype).removeprefix("torch."))


def apply_precision(model: nn.Module, precision: Precision) -> nn.Module:
    """Cast ``model`` (a Sam-like module with ``image_encoder`` and ``prompt_encoder``).

    For a bf16 encoder under a float32 rest, the encoder body is cast and its input is cast on
    entry; its ``neck`` (when it has one) stays float32 and gets float32 input, so the image
    embedding, the decoder and all outputs are float32 as in a float32 model.
    """
    pe = model.prompt_encoder.pe_layer
    gaussian = pe.positional_encoding_gaussian_matrix.detach().float().clone()
    model = model.to(dtype=precision.rest)
    if precision.encoder != precision.rest:
        encoder = model.image_encoder
        encoder.to(dtype=precision.encoder)
        encoder.register_forward_pre_hook(_cast_input(precision.encoder))
        neck = getattr(encoder, "neck", None)
        if isinstance(neck, nn.Module):
            neck.to(dtype=precision.rest)
            neck.register_forward_pre_hook(_cast_input(precision.rest))
        else:
            encoder.register_forward_hook(_cast_output(precision.rest))
    if precision.rest != torch.float32:
        # The prompt encoder's Fourier frequencies stay float32: sin/cos of coordinates times a
        # rounded frequency would move every point.
        pe.positional_encoding_gaussian_matrix = gaussian
    model.precision = precision
    return model


def _cast_input(dtype: torch.dtype):
    def hook(_module: nn.Module, args: tuple) -> tuple:
        first = args[0]
        if isinstance(first, (list, tuple)):  # SAM 2's neck takes the trunk's levels
            return (type(first)(t.to(dtype) for t in first), *args[1:])
        return (first.to(dtype), *args[1:])

    return hook


def _cast_output(dtype: torch.dtype):
    def hook(_module: nn.Module, _args: tuple, output: torch.Tensor) -> torch.Tensor:
        return output.to(dtype)

    return hook


def describe_default(device: str | torch.device = "auto") -> str:
    """One line for ``annotator models list``: the device "auto" picks, in words, and what
    precision "auto" runs there, e.g. "CPU, precision auto: bf16 encoder (native bf16)"."""
    from annotator.engine.devices import device_name, resolve_device

    dev = resolve_device(device)
    precision = resolve_precision("auto", dev)
    why = "native bf16" if precision.encoder == torch.bfloat16 else "no native bf16 here"
    return f"{device_name(dev)}, precision auto: {precision.label.removesuffix(' (auto)')} ({why})"
