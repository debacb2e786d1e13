"""oneDNN's fused CPU inference ops: a convolution or linear layer with its pointwise successor
(GELU, a residual add) applied to the output as it is written. These are the ops torch.compile's
CPU backend fuses to; calling them directly needs no compile step. Everywhere else (training,
autograd, other devices, bf16 without oneDNN's bf16 kernels) the plain ops run.

Why: in bf16 the matmuls are fast enough that separate passes over large activations dominate.
Measured on a 2-core AMX Xeon, (65536, 96) x (96 -> 384) in bf16: linear + GELU 62.6 ms as two
ops, 20.5 ms fused; (65536, 384) -> 96 plus a residual 3.9 -> 2.5 ms.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from annotator.engine.devices import onednn_bf16


def fusable(x: Tensor) -> bool:
    """Whether oneDNN's fused ops can run on ``x``: CPU inference, float32, or bf16 on a CPU
    with oneDNN's bf16 kernels (elsewhere the fused op raises, and the plain ops run). Never
    while tracing or exporting: ONNX has no such ops, and torch.compile fuses by itself."""
    return (
        x.device.type == "cpu"
        and not torch.is_grad_enabled()
        and not torch.jit.is_tracing()
        and not torch.onnx.is_in_onnx_export()
        and not torch.compiler.is_compiling()
        and (x.dtype == torch.float32 or (x.dtype == torch.bfloat16 and onednn_bf16()))
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        and hasattr(torch.ops.mkldnn, "_convolution_pointwise")
    )


def _runs_fused(layer: nn.Linear, x: Tensor) -> bool:
    return not layer.training and fusable(x) and layer.weight.dtype == x.dtype


def exact_gelu(act: nn.Module | None) -> bool:
    """Whether ``act`` is the erf GELU that :func:`linear_gelu` computes."""
    return isinstance(act, nn.GELU) and act.approximate == "none"


def linear(layer: nn.Linear, x: Tensor) -> Tensor:
    """``layer(x)`` with the bias added as the output is written (torch's CPU linear first
    copies the bias into the whole output, then accumulates onto it)."""
    if not _runs_fused(layer, x):
        return layer(x)
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "none", [], "")


def linear_gelu(layer: nn.Linear, x: Tensor) -> Tensor:
    """``gelu(layer(x))`` (exact, erf GELU) for (..., in_features) -> (..., out_features)."""
    if not _runs_fused(layer, x):
        return F.gelu(layer(x))
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "gelu", [], "none")


def linear_relu(layer: nn.Linear, x: Tensor) -> Tensor:
    """``relu(layer(x))`` for (..., in_features) -> (..., out_features)."""
    if not _runs_fused(layer, x):
        return F.relu(layer(x))
    return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "relu", [], "")


def linear_add(layer: nn.Linear, x: Tensor, residual: Tensor) -> Tensor:
    """``residual + layer(x)``; ``residual`` has the output's shape (..., out_features)."""
    if (
        not _runs_fused(layer, x)
        or residual.dtype != x.dtype
        or residual.shape != (*x.shape[:-1], layer.out_features)
    ):
        return residual + layer(x)
    return torch.ops.mkldnn._linear_pointwise.binary(
        x, residual.contiguous(), layer.weight, layer.bias, "add"
    )
