"""Small network building blocks shared by the world model and the actor-critic (guide ch. 2).

Every hidden layer is Linear -> LayerNorm -> SiLU, as in the official DreamerV3 (the guide leaves the
normalisation out; DESIGN item 9).  Heads whose outputs start a feedback loop (reward, critic) get a
zero-initialised output layer, so at the start they predict 0 rather than random large values.
"""
from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """``layers`` hidden blocks of width ``hidden``; an optional linear output of size ``out_dim``."""

    def __init__(self, in_dim: int, hidden: int, layers: int, out_dim: int | None = None,
                 zero_init_output: bool = False):
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden, bias=False), nn.LayerNorm(hidden), nn.SiLU()]
            width = hidden
        if out_dim is not None:
            output = nn.Linear(width, out_dim)
            if zero_init_output:
                nn.init.zeros_(output.weight)
                nn.init.zeros_(output.bias)
            blocks.append(output)
            width = out_dim
        self.net = nn.Sequential(*blocks)
        self.out_dim = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., in_dim) -> (..., out_dim)
        return self.net(x)
