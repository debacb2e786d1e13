"""TinyViT's inference shortcuts give the plain computation's results."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from annotator.engine.modeling.sam.tiny_vit import Attention, Conv2d_BN


def _conv_bn(groups: int) -> Conv2d_BN:
    torch.manual_seed(0)
    m = Conv2d_BN(16, 16, ks=3, pad=1, groups=groups).eval()
    with torch.no_grad():
        m.bn.running_mean.normal_(0, 0.1)
        m.bn.running_var.uniform_(0.5, 1.5)
        m.bn.weight.normal_(1, 0.1)
        m.bn.bias.normal_(0, 0.1)
    return m


def test_fused_conv_gelu_equals_gelu_of_the_conv():
    x = torch.randn(1, 16, 20, 20).contiguous(memory_format=torch.channels_last)
    for groups in (1, 16):
        m = _conv_bn(groups)
        with torch.no_grad():
            plain = F.gelu(m(x))
        with torch.inference_mode():
            fused = m.conv_gelu(x)
        assert torch.allclose(fused, plain, atol=1e-5, rtol=1e-5)


def test_window_bias_is_gathered_again_after_the_weights_change():
    attn = Attention(32, 16, 2, (7, 7)).eval()
    with torch.no_grad():
        attn.attention_biases.normal_()
        first = attn._bias(torch.float32).clone()
        assert torch.equal(attn._bias(torch.float32), first)  # cached
        attn.attention_biases.add_(1.0)
        assert torch.equal(attn._bias(torch.float32), first + 1.0)
    assert attn._bias(torch.float32).requires_grad  # training keeps the graph
