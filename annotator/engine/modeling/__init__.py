"""The networks, as ``nn.Module``s only: one family per sub-package (``sam/`` today).

Importing this package does not import torch (``architectures`` is read by the torch-free
model registry); the families do.
"""
