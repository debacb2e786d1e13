"""Axial rotary position encoding (RoPE) for SAM 2's memory attention, as Meta's
``compute_axial_cis`` / ``apply_rotary_enc`` define it.

Channel pairs (2j, 2j+1) of a (.., N, D) tensor over an h x w grid (row-major) are rotated by
``x * f_j`` for j < D/4 and by ``y * f_(j - D/4)`` above, with f_j = theta^(-4j/D). Meta multiplies
complex numbers; this applies the same rotation with cos/sin tables in real arithmetic, which
is exact to float rounding and avoids complex tensors (no complex kernels on some backends).
"""

from __future__ import annotations

import torch
from torch import Tensor


def axial_angles(dim: int, h: int, w: int, theta: float = 10000.0) -> Tensor:
    """(h*w, dim/2) rotation angles for the grid positions, row-major."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 4)[: dim // 4].float() / dim))
    t = torch.arange(h * w, dtype=torch.float32)
    tx, ty = t % w, torch.div(t, w, rounding_mode="floor")
    return torch.cat([torch.outer(tx, freqs), torch.outer(ty, freqs)], dim=-1)


class AxialRope:
    """cos/sin tables for one grid, cached per (h, w, device)."""

    def __init__(self, dim: int, theta: float = 10000.0) -> None:
        self.dim = dim
        self.theta = theta
        self._tables: dict[tuple[int, int, torch.device], tuple[Tensor, Tensor]] = {}

    def tables(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        side = round(n**0.5)
        if side * side != n:
            raise ValueError(f"RoPE needs a square grid of tokens, got {n}")
        key = (side, side, device)
        if key not in self._tables:
            angles = axial_angles(self.dim, side, side, self.theta).to(device)
            self._tables[key] = (angles.cos(), angles.sin())
        return self._tables[key]

    def rotate(self, x: Tensor, grid_tokens: int) -> Tensor:
        """x (B, L, D) with L = r * grid_tokens (r frames of the grid, frame-major) -> rotated,
        in float32 as Meta computes it, cast back to x's dtype."""
        b, length, d = x.shape
        cos, sin = self.tables(grid_tokens, x.device)
        r = length // grid_tokens
        pairs = x.float().view(b, r, grid_tokens, d // 2, 2)
        a, c = pairs[..., 0], pairs[..., 1]
        out = torch.stack((a * cos - c * sin, a * sin + c * cos), dim=-1)
        return out.view(b, length, d).to(x.dtype)
