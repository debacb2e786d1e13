"""The fused oneDNN layers give the plain layers' results, and step aside where they can't run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from annotator.engine.devices import onednn_bf16
from annotator.engine.modeling import onednn
from annotator.engine.modeling.common import MLP, MLPBlock
from annotator.engine.modeling.onednn import linear, linear_add, linear_gelu, linear_relu


def _layer(n_in: int, n_out: int, dtype: torch.dtype) -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(n_in, n_out).to(dtype).eval()


def _input(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(shape).to(dtype)


BF16 = pytest.mark.skipif(not onednn_bf16(), reason="no oneDNN bf16 kernels on this CPU")


@pytest.mark.parametrize("dtype", [torch.float32, pytest.param(torch.bfloat16, marks=BF16)])
def test_fused_layers_equal_the_plain_ones_on_channels_last_maps(dtype):
    fc1, fc2 = _layer(96, 384, dtype), _layer(384, 96, dtype)
    x = _input((2, 16, 16, 96), dtype)
    # bf16: the fused op rounds once where the plain ones round twice (about one bf16 ulp).
    tol = {"atol": 1e-5, "rtol": 1e-5} if dtype == torch.float32 else {"atol": 0.1, "rtol": 0.02}
    with torch.inference_mode():
        assert onednn.fusable(x)
        h = linear_gelu(fc1, x)
        torch.testing.assert_close(h, F.gelu(fc1(x)), **tol)
        torch.testing.assert_close(linear(fc1, x), fc1(x), **tol)
        torch.testing.assert_close(linear_relu(fc1, x), F.relu(fc1(x)), **tol)
        torch.testing.assert_close(linear_add(fc2, h, x), x + fc2(h), **tol)
        # A strided (transposed) input gives the same values as its contiguous copy.
        xt = x.transpose(1, 2)
        torch.testing.assert_close(linear(fc1, xt), fc1(xt.contiguous()), **tol)


def test_mlps_forward_add_is_the_residual_sum_of_their_forward():
    torch.manual_seed(2)
    block = MLPBlock(32, 128, nn.GELU).eval()
    mlp = MLP(32, 128, 32, 2, act=nn.GELU).eval()
    relu_mlp = MLPBlock(32, 128, nn.ReLU).eval()
    x = torch.randn(3, 7, 32)
    with torch.inference_mode():
        for module in (block, mlp, relu_mlp):
            torch.testing.assert_close(module.forward_add(x, x), x + module(x))


def test_training_keeps_autograd_and_the_plain_ops():
    fc = _layer(8, 8, torch.float32).train()
    x = _input((4, 8), torch.float32).requires_grad_()
    out = linear_add(fc, linear_gelu(fc, x), x)
    out.sum().backward()
    assert x.grad is not None and fc.weight.grad is not None
    assert not onednn.fusable(x)  # grad mode on: the fused inference ops are not used


def test_bf16_without_onednn_bf16_kernels_runs_the_plain_ops(monkeypatch):
    monkeypatch.setattr(onednn, "onednn_bf16", lambda: False)
    fc = _layer(16, 32, torch.bfloat16)
    x = _input((5, 16), torch.bfloat16)
    with torch.inference_mode():
        assert not onednn.fusable(x)
        torch.testing.assert_close(linear_gelu(fc, x), F.gelu(fc(x)), atol=0, rtol=0)
        assert onednn.fusable(x.float())  # float32 still fuses


def test_a_residual_of_another_shape_is_broadcast_as_the_plain_sum_does():
    fc = _layer(16, 16, torch.float32)
    x = _input((2, 5, 16), torch.float32)
    bias_row = torch.ones(16)
    with torch.inference_mode():
        torch.testing.assert_close(linear_add(fc, x, bias_row), bias_row + fc(x))


def test_an_onnx_export_under_no_grad_holds_only_standard_ops(tmp_path):
    """A user exporting a model in inference mode gets a graph ONNX Runtime can run: the fused
    oneDNN ops (not ONNX operators) step aside while exporting."""
    import onnx
    import onnxruntime as ort

    from annotator.engine.onnx.export import _export

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = MLPBlock(16, 64, nn.GELU)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.mlp.forward_add(x, x)

    torch.manual_seed(3)
    block = Block().eval()
    x = torch.randn(2, 16)
    path = tmp_path / "block.onnx"
    with torch.no_grad():
        _export(block, (x,), str(path), ("x",), ("y",), None, 17)
        want = block(x).numpy()
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert not any("pointwise" in op.lower() for op in ops), ops
    got = ort.InferenceSession(str(path)).run(None, {"x": x.numpy()})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
