"""Weights: the catalogue of known checkpoints, the local store, downloads and loading.

Bottom to top: ``state_dict`` (read a file safely, detect its architecture), ``registry``
(the torch-free catalogue), ``bundled`` (the shipped LiteMedSAM), ``store`` (the models
folder), ``resolve`` (name or path or bundled -> file), ``download``, and ``load``
(``load_model``). Hugging Face: ``hub`` (the one module that talks to huggingface_hub),
``hf_store`` (pinned hub downloads), ``hf_layout``/``hf_format``/``hf_keys``/``hf_sam2``
(transformers checkpoints and their key names). Importing this package does not import torch.
"""
