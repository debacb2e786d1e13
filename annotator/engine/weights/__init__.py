"""Weights: the catalogue of known checkpoints, the local store, downloads and loading.

Bottom to top: ``state_dict`` (read a file safely, detect its architecture), ``registry``
(the torch-free catalogue), ``bundled`` (the shipped LiteMedSAM), ``store`` (the models
folder), ``resolve`` (name or path or bundled -> file), ``download``, and ``load``
(``load_model``). Importing this package does not import torch.
"""
