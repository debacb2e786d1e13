"""The architecture keys the networks implement (``load_model(model_type=...)``).

Torch-free, so the model registry and ``annotator models list`` can validate names without
importing the networks.
"""

from __future__ import annotations

MODEL_TYPES = ("vit_h", "vit_l", "vit_b", "vit_t", "lite_medsam")
"""SAM ViT-H/L/B, MobileSAM (TinyViT, ``vit_t``) and LiteMedSAM."""
