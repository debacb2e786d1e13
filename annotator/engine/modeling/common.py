"""Small layers shared by the SAM-family networks (key names match the official checkpoints)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from annotator.engine.modeling.onednn import exact_gelu, linear_add, linear_gelu


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) tensor."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class MLPBlock(nn.Module):
    """Two linear layers with an activation between (``lin1``/``lin2`` keys)."""

    def __init__(self, embedding_dim: int, mlp_dim: int, act: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(embedding_dim, mlp_dim)
        self.lin2 = nn.Linear(mlp_dim, embedding_dim)
        self.act = act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(self.act(self.lin1(x)))

    def forward_add(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``residual + self(x)``; with an exact GELU, in CPU inference, as two fused oneDNN
        ops (the activation and the sum applied as the outputs are written)."""
        if not exact_gelu(self.act):
            return residual + self(x)
        return linear_add(self.lin2, linear_gelu(self.lin1, x), residual)


class MLP(nn.Module):
    """``num_layers`` linear layers with ``act`` (ReLU) between them (``layers.i`` keys)."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        act: type[nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.act = act() if act is not None else None
        h = [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(
            nn.Linear(n, k) for n, k in zip([input_dim, *h], [*h, output_dim], strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i < self.num_layers - 1:
                x = F.relu(layer(x)) if self.act is None else self.act(layer(x))
            else:
                x = layer(x)
        return x

    def forward_add(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``residual + self(x)``; a two-layer MLP with an exact GELU runs, in CPU inference,
        as two fused oneDNN ops (see :meth:`MLPBlock.forward_add`)."""
        if self.num_layers != 2 or not exact_gelu(self.act):
            return residual + self(x)
        fc1, fc2 = self.layers
        return linear_add(fc2, linear_gelu(fc1, x), residual)
